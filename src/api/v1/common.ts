import type { FhirResource, Identifier } from 'fhir/r4.js';
import type { Caller, StaffCaller } from '../../auth/caller.js';
import { forbidden } from '../../outcome/errors.js';
import type { Ctx } from './http.js';
import { keyedIdentifier, type Tx } from '../tx.js';

/** Small pieces the /api/v1 steps share. */

/** Steps a staff member takes (submitting, deciding, paying): the caller is named on the record. */
export function staffCaller(caller: Caller): StaffCaller {
  if (caller.kind !== 'staff') throw forbidden('Only a member of staff can do this');
  return caller;
}

/**
 * Creates `resource` carrying the request's idempotency identifier, conditionally on it: a
 * retry that slips past the replay check still matches instead of creating a second one.
 */
export function createKeyed(tx: Tx, ctx: Ctx, resource: FhirResource, n = 0): number {
  if (!ctx.key) return tx.create(resource);
  const { identifier, ifNoneExist } = keyedIdentifier(ctx.key, n);
  return tx.create(withIdentifier(resource, identifier), ifNoneExist);
}

/** `PUT` at an id chosen here (when other records must name it), with the idempotency identifier. */
export function putKeyed<T extends FhirResource & { id: string }>(tx: Tx, ctx: Ctx, resource: T, n = 0): number {
  if (!ctx.key) return tx.put(resource);
  return tx.put(withIdentifier(resource, keyedIdentifier(ctx.key, n).identifier) as T);
}

function withIdentifier(resource: FhirResource, identifier: Identifier): FhirResource {
  // QuestionnaireResponse has one identifier; every other resource written here has a list.
  if (resource.resourceType === 'QuestionnaireResponse') return { ...resource, identifier };
  const existing = (resource as { identifier?: Identifier[] }).identifier ?? [];
  return { ...resource, identifier: [...existing, identifier] } as FhirResource;
}

/** `Type/id` -> id, checking the type. */
export function idOf(ref: string, type: string): string {
  const [t, id] = ref.split('/');
  if (t !== type || !id) throw new Error(`expected a ${type} reference, got ${ref}`);
  return id;
}
