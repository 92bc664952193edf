import type { FhirResource } from 'fhir/r4.js';
import type { Request } from 'express';
import type { FhirStore } from '../../store/fhirStore.js';
import { currentAccess, type ReadForAccess } from '../../auth/guard.js';
import { grantAndScope } from '../../auth/authorize.js';
import { resourceIdParam } from '../../auth/compartment.js';
import { patientOf } from '../../fhir/compartment.js';
import { forbidden, notFound } from '../../outcome/errors.js';
import { entriesOf, searchset, type Entry } from '../../fhir/bundle.js';
import type { ProtectedRoute } from '../route.js';
import { baseUrl, checkReadQuery, sendResource } from './http.js';
import { checkSearch, resultParams } from './search.js';
import { exampleId } from '../route.js';
import { SERVED_TYPES, servedType, type ServedType } from './served.js';

/**
 * Read and search of the person's record on /fhir, one pair of routes per served type. Reads are
 * authorized after the record is read (against its patient); searches are narrowed by the
 * facade to the one patient the guard allowed, and every returned entry is checked again.
 */

async function readForAccess(store: FhirStore, type: string, req: Request): Promise<ReadForAccess> {
  const id = resourceIdParam(req.params.id);
  // A deleted record is as unknown as one that never was.
  const resource = await store.readIfExists<FhirResource>(type as FhirResource['resourceType'], id);
  if (!resource) throw notFound(`${type}/${id} is not known`);
  const patientId = patientOf(resource);
  // A record in nobody's compartment is not served by compartment routes (it would match every caller).
  if (patientId === undefined) throw notFound(`${type}/${id} is not known`);
  return { record: resource, patientId };
}

/** Whether a returned entry belongs to the patient searched (definitions belong to everyone). */
export function belongsTo(resource: FhirResource, patientId: string | undefined): boolean {
  const served = servedType(resource.resourceType);
  if (served && !served.compartment) return true;
  return patientId !== undefined && patientOf(resource) === patientId;
}

function readRoute(served: ServedType): ProtectedRoute {
  const { type } = served;
  const compartmental = served.compartment !== undefined;
  return {
    face: 'fhir',
    method: 'get',
    path: `/${type}/:id`,
    resource: type,
    interaction: 'read',
    patient: () => undefined,
    id: (req) => resourceIdParam(req.params.id),
    ...(compartmental ? { resolvePatient: (store: FhirStore, req: Request) => readForAccess(store, type, req) } : {}),
    urlFor: (patientId) => `/fhir/${type}/${compartmental ? exampleId(type, patientId) : 'phb-impact'}`,
    handle: async (store, req, res) => {
      checkReadQuery(req);
      // A compartment record was read by the guard; a definition (no compartment) is read here.
      const resource =
        currentAccess().record ??
        (await store.read<FhirResource>(type as FhirResource['resourceType'], resourceIdParam(req.params.id)));
      sendResource(res, resource);
    },
  };
}

function searchRoute(served: ServedType): ProtectedRoute {
  const { type } = served;
  const query = (req: Request): Record<string, unknown> => req.query as Record<string, unknown>;
  return {
    face: 'fhir',
    method: 'get',
    path: `/${type}`,
    resource: type,
    interaction: 'search',
    searchParams: [
      ...(served.compartment ?? []).map((name) => ({ name, type: 'reference' as const })),
      ...served.params,
      ...resultParams(served),
    ],
    searchInclude: Object.keys(served.include ?? {}),
    searchRevInclude: Object.keys(served.revinclude ?? {}),
    patient: (req) => checkSearch(served, query(req)).patientId,
    urlFor: (patientId) =>
      served.compartment
        ? `/fhir/${type}?patient=Patient/${patientId}`
        : `/fhir/${type}?url=https://phb.fhir.example.org/Questionnaire/phb-impact`,
    handle: async (store, req, res) => {
      const search = checkSearch(served, query(req));
      const { caller, patientId } = currentAccess();
      const own = grantAndScope(caller, type, 'search');
      for (const included of new Set(search.includedTypes)) {
        const may = grantAndScope(caller, included, 'read');
        // Includes reach the same patient, so the row for the included type must have the same reach.
        if (!may.allowed || (own.allowed && may.grant.reach !== own.grant.reach && may.grant.reach !== 'any')) {
          throw forbidden(`The ${caller.role} role may not read ${included}, so it cannot be included`);
        }
      }
      if (served.compartment && patientId === undefined) throw forbidden('Name the patient');
      const params = {
        ...search.params,
        ...(served.compartment ? { patient: `Patient/${patientId}` } : {}),
        _count: search.count,
        _offset: search.offset,
      };
      const found = await store.search<FhirResource>(type as FhirResource['resourceType'], params);
      // Defence in depth: whatever HAPI returns, only this patient's records (and definitions) go out.
      const entries: Entry[] = entriesOf(found).flatMap((e) => {
        if (e.mode !== 'match' && e.mode !== 'include') return [];
        if (e.mode === 'match' && e.resource.resourceType !== type) return [];
        if (e.resource.resourceType === 'Patient' ? e.resource.id !== patientId : !belongsTo(e.resource, patientId))
          return [];
        return [{ resource: e.resource, mode: e.mode }];
      });
      const base = baseUrl(req);
      const self = `${base}${req.url}`;
      // HAPI may return fewer than asked (its page size limit): the next page starts after what it returned.
      const matched = entriesOf(found).filter((e) => e.mode === 'match').length;
      const hasNext = (found.link ?? []).some((l) => l.relation === 'next') && matched > 0;
      const next = hasNext ? withOffset(base, req, search.offset + matched) : undefined;
      res
        .type('application/fhir+json')
        .json(searchset(base, entries, { self, ...(next ? { next } : {}) }, found.total));
    },
  };
}

function withOffset(base: string, req: Request, offset: number): string {
  const url = new URL(`${base}${req.path}`);
  const original = new URL(req.originalUrl, 'http://x');
  original.searchParams.forEach((v, k) => {
    if (k !== '_offset') url.searchParams.append(k, v);
  });
  url.searchParams.set('_offset', String(offset));
  return url.toString();
}

export const COMPARTMENT_ROUTES: readonly ProtectedRoute[] = SERVED_TYPES.flatMap((served) => [
  ...(served.searchOnly ? [] : [readRoute(served)]),
  searchRoute(served),
]);
