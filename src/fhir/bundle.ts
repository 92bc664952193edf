import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, BundleLink, FhirResource } from 'fhir/r4.js';

/**
 * Bundles the facade returns. Links and fullUrls point at the facade, never at HAPI: HAPI is not
 * exposed, and its paging links would bypass the access checks.
 */
export interface Entry {
  resource: FhirResource;
  mode?: 'match' | 'include';
}

/**
 * Where a resource lives on the facade. One without an id (the summary's computed Parameters) lives
 * nowhere: it gets a urn:uuid, since R4 wants a fullUrl on every entry of a collection or searchset
 * and `.../Parameters/` would name a record that cannot be read.
 */
export function fullUrl(base: string, resource: FhirResource): string {
  return resource.id ? `${base}/${resource.resourceType}/${resource.id}` : `urn:uuid:${randomUUID()}`;
}

function entry(base: string, e: Entry): BundleEntry {
  return { fullUrl: fullUrl(base, e.resource), resource: e.resource, ...(e.mode ? { search: { mode: e.mode } } : {}) };
}

export function searchset(
  base: string,
  entries: Entry[],
  links: { self: string; next?: string },
  total?: number,
): Bundle {
  const link: BundleLink[] = [
    { relation: 'self', url: links.self },
    ...(links.next ? [{ relation: 'next', url: links.next }] : []),
  ];
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(total !== undefined ? { total } : {}),
    link,
    // An empty searchset has no entry element: FHIR forbids empty arrays.
    ...(entries.length ? { entry: entries.map((e) => entry(base, e)) } : {}),
  };
}

export function collection(base: string, resources: FhirResource[], timestamp = new Date().toISOString()): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp,
    ...(resources.length ? { entry: resources.map((resource) => entry(base, { resource })) } : {}),
  };
}

/** The resources of a Bundle, with their search mode. */
export function entriesOf(bundle: Bundle): { resource: FhirResource; mode?: string }[] {
  return (bundle.entry ?? []).flatMap((e) =>
    e.resource ? [{ resource: e.resource, ...(e.search?.mode ? { mode: e.search.mode } : {}) }] : [],
  );
}

/** The resources of one type in a Bundle (a search's matches and includes alike). */
export function resourcesOf<T extends FhirResource>(bundle: Bundle, type: T['resourceType']): T[] {
  return (bundle.entry ?? []).flatMap((e) => (e.resource?.resourceType === type ? [e.resource as T] : []));
}
