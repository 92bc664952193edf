import type { FhirResource, Reference } from 'fhir/r4.js';
import { badRequest } from '../outcome/errors.js';

/**
 * The R4 Patient compartment, as far as this service serves it: which reference on each resource
 * names the patient. Task is not in R4's compartment, so `for` is used (shared/REFERENCE.md).
 */
const PATIENT_PATHS: Readonly<Record<string, (r: never) => Reference | undefined>> = {
  CarePlan: (r: { subject?: Reference }) => r.subject,
  Goal: (r: { subject?: Reference }) => r.subject,
  Coverage: (r: { beneficiary?: Reference }) => r.beneficiary,
  QuestionnaireResponse: (r: { subject?: Reference }) => r.subject,
  Observation: (r: { subject?: Reference }) => r.subject,
  EpisodeOfCare: (r: { patient?: Reference }) => r.patient,
  Consent: (r: { patient?: Reference }) => r.patient,
  RelatedPerson: (r: { patient?: Reference }) => r.patient,
  Task: (r: { for?: Reference }) => r.for,
  ServiceRequest: (r: { subject?: Reference }) => r.subject,
  DocumentReference: (r: { subject?: Reference }) => r.subject,
  Account: (r: { subject?: Reference[] }) => r.subject?.[0],
  ChargeItem: (r: { subject?: Reference }) => r.subject,
};

const PATIENT_REF = /^(?:.*\/)?Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/.*)?$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Whose compartment a stored resource is in; undefined when it is in none (so only `any` rows reach it). */
export function patientOf(resource: FhirResource): string | undefined {
  if (resource.resourceType === 'Patient') return resource.id;
  const path = PATIENT_PATHS[resource.resourceType];
  const ref = path ? (path as (r: FhirResource) => Reference | undefined)(resource) : undefined;
  return PATIENT_REF.exec(ref?.reference ?? '')?.[1];
}

/** A `patient` search value (`123` or `Patient/123`) as an id; 400 when it is anything else. */
export function patientParam(value: unknown, location = 'patient'): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest('Give one patient', location);
  const id = PATIENT_REF.exec(value)?.[1] ?? (ID.test(value) ? value : undefined);
  if (id === undefined) throw badRequest('patient must be a Patient id or Patient/<id>', location);
  return id;
}

/** A resource id from the path; 400 when it cannot be one. */
export function resourceIdParam(value: unknown, location = 'id'): string {
  if (typeof value !== 'string' || !ID.test(value)) throw badRequest('The id is not a valid FHIR id', location);
  return value;
}
