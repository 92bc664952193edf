import { badRequest } from '../outcome/errors.js';
import { isId } from '../domain/ids.js';
import { patientIdOf } from '../fhir/compartment.js';

/** A `patient` search value (`123` or `Patient/123`) as an id; 400 when it is anything else. */
export function patientParam(value: unknown, location = 'patient'): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest('Give one patient', location);
  const id = patientIdOf(value) ?? (isId(value) ? value : undefined);
  if (id === undefined) throw badRequest('patient must be a Patient id or Patient/<id>', location);
  return id;
}

/** A resource id from the path; 400 when it cannot be one. */
export function resourceIdParam(value: unknown, location = 'id'): string {
  if (typeof value !== 'string' || !isId(value)) throw badRequest('The id is not a valid FHIR id', location);
  return value;
}
