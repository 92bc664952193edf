import type { FhirResource } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';

/**
 * A stored resource through its mapper. A record the mapper refuses (a DomainError) becomes the
 * error `unreadable` makes of the reason, because what an unreadable record means depends on the
 * reader: a fault in the store's data for the API, a rule violation for a discharge document, a
 * change the publisher cannot send.
 */
export function mapped<R, T>(resource: R, from: (r: R) => T, unreadable: (reason: string) => Error): T {
  try {
    return from(resource);
  } catch (e) {
    if (e instanceof DomainError) throw unreadable(e.message);
    throw e;
  }
}

/** The resources of one type, each with what its mapper reads; records it cannot read are left out, not fatal. */
export function mappedOfType<R extends FhirResource, T>(
  resources: readonly FhirResource[],
  type: R['resourceType'],
  from: (r: R) => T,
  leftOut: () => void = () => undefined,
): { resource: R; value: T }[] {
  return resources.flatMap((r) => {
    if (r.resourceType !== type) return [];
    try {
      return [{ resource: r as R, value: from(r as R) }];
    } catch {
      leftOut();
      return [];
    }
  });
}
