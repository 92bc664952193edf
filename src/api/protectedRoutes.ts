import type { Consent, Patient } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import type { FhirStore } from '../store/fhirStore.js';
import type { IdempotencyKeys } from './idempotency.js';
import * as consent from '../fhir/consent.js';
import { accessOf } from '../auth/guard.js';
import { patientParam, resourceIdParam } from '../auth/compartment.js';
import type { Interaction } from '../auth/scopes.js';
import { badRequest } from '../outcome/errors.js';
import { PHR_FHIR_ROUTES } from './fhir/routes.js';
import { PHB_API_ROUTES } from './v1/routes.js';
import { ADMIN_ROUTES } from './adminRoutes.js';
import type { SignOffPolicy } from '../domain/signoff/policy.js';
import { resourcesOf, searchset } from '../fhir/bundle.js';
import { baseUrl } from './fhir/http.js';

/**
 * The routes that serve personal data so far, as one table: each names the permission it needs
 * (a row of src/auth/permissions.ts) and whose data it touches. app.ts mounts them behind the
 * guard, and the access-matrix test runs every role against every row.
 */
export interface ProtectedRoute {
  face: 'fhir' | 'api';
  method: 'get' | 'post' | 'put';
  /** Express path under the face's mount point. */
  path: string;
  resource: string;
  interaction: Interaction;
  /** Search parameters a search route understands (others are refused), for /fhir/metadata. */
  searchParams?: readonly { name: string; type: 'reference' | 'token' | 'string' | 'date' | 'uri' | 'number' }[];
  /** `_include` / `_revinclude` values a search route follows, for /fhir/metadata. */
  searchInclude?: readonly string[];
  searchRevInclude?: readonly string[];
  /** A system-level interaction this route serves (`POST /fhir` with a transaction), for /fhir/metadata. */
  system?: 'transaction';
  /** A FHIR operation this route serves, for /fhir/metadata; `type` when it is on another type than the permission's. */
  operation?: { name: string; definition: string; type?: string };
  patient: (req: Request) => string | undefined;
  id?: (req: Request) => string | undefined;
  /** Authorize after read: reads the record the request names and gives its patient (see the guard). */
  resolvePatient?: (store: FhirStore, req: Request) => Promise<string | undefined>;
  /** Touches several patients: the handler checks each one's reach (see the guard). */
  reachPerPatient?: boolean;
  /** The handler's own search brings the patient's Consents and it settles the consent check with them (see the guard). */
  consentInRecords?: boolean;
  /** Service administration (the publisher's delivery status and dead letters): no one patient's record, so the access matrix leaves it to its own test. */
  administrative?: boolean;
  /** A concrete URL for a patient, for documentation and tests. */
  urlFor: (patientId: string) => string;
  /** A request body for that patient, for write routes (documentation and tests). */
  bodyFor?: (patientId: string) => unknown;
  /**
   * The example URL and body reach the handler but are not a usable request (an empty body, a
   * record that is not there), so a caller the guard lets through gets the handler's 4xx, never
   * 401/403; the access matrix checks exactly that.
   */
  exampleRefused?: boolean;
  handle: (store: FhirStore, req: Request, res: Response, deps: RouteDeps) => Promise<void>;
}

/** What app.ts hands every protected route besides the store: the configuration loaded at start. */
export interface RouteDeps {
  /** The organisation's sign-off policy (SIGN_OFF_POLICY), checked at start. */
  policy: SignOffPolicy;
  /** Idempotency-Key admission (IDEMPOTENCY_LEASE_MS, RETRY_AFTER_SECONDS), one per app. */
  idempotency: IdempotencyKeys;
}

function queryValue(req: Request, name: string): unknown {
  return (req.query as Record<string, unknown>)[name];
}

/** Consents of one patient, already narrowed by the guard to the patient it allowed. */
async function consentsOf(store: FhirStore, req: Request): Promise<Consent[]> {
  const { patientId } = accessOf(req);
  if (patientId === undefined) throw badRequest('Name the patient', 'patient');
  const bundle = await store.search<Consent>('Consent', { patient: `Patient/${patientId}`, _count: 100 });
  return resourcesOf<Consent>(bundle, 'Consent');
}

export const PROTECTED_ROUTES: readonly ProtectedRoute[] = [
  {
    face: 'fhir',
    method: 'get',
    path: '/Patient/:id',
    resource: 'Patient',
    interaction: 'read',
    patient: (req) => resourceIdParam(req.params.id),
    id: (req) => resourceIdParam(req.params.id),
    urlFor: (patientId) => `/fhir/Patient/${patientId}`,
    handle: async (store, req, res) => {
      const patient = await store.read<Patient>('Patient', resourceIdParam(req.params.id));
      if (patient.meta?.versionId) res.setHeader('ETag', `W/"${patient.meta.versionId}"`);
      res.type('application/fhir+json').json(patient);
    },
  },
  {
    face: 'fhir',
    method: 'get',
    path: '/Consent',
    resource: 'Consent',
    interaction: 'search',
    searchParams: [{ name: 'patient', type: 'reference' }],
    patient: (req) => patientParam(queryValue(req, 'patient')),
    urlFor: (patientId) => `/fhir/Consent?patient=Patient/${patientId}`,
    handle: async (store, req, res) => {
      const found = await consentsOf(store, req);
      const base = baseUrl(req);
      const entries = found.map((resource) => ({ resource, mode: 'match' as const }));
      res.type('application/fhir+json').json(searchset(base, entries, { self: `${base}${req.url}` }, found.length));
    },
  },
  {
    face: 'api',
    method: 'get',
    path: '/v1/budget-holders/:id/consents',
    resource: 'Consent',
    interaction: 'search',
    patient: (req) => resourceIdParam(req.params.id, '/id'),
    urlFor: (patientId) => `/api/v1/budget-holders/${patientId}/consents`,
    handle: async (store, req, res) => {
      const consents = (await consentsOf(store, req)).flatMap((c) => {
        try {
          return [consent.fromFhir(c)];
        } catch {
          return []; // not a PHR consent of ours
        }
      });
      res.json({ consents });
    },
  },
  // The person's PHB on /fhir (reads, searches, operations, self-tracking): src/api/fhir/routes.ts.
  ...PHR_FHIR_ROUTES,
  // The PHB journey API for staff and the person (the six steps): src/api/v1/routes.ts.
  ...PHB_API_ROUTES,
  // Operating the outbound publisher (service-operator only): src/api/adminRoutes.ts.
  ...ADMIN_ROUTES,
];
