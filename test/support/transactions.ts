import type { BundleEntry, FhirResource } from 'fhir/r4.js';

/** A transaction entry writing the resource under its own id (PUT-as-create or update). */
export function putEntry(resource: FhirResource & { id?: string }): BundleEntry {
  return { resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id ?? ''}` } };
}
