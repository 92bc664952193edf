import type { Consent, Patient } from 'fhir/r4.js';
import type { FhirStore } from '../store/fhirStore.js';
import * as consent from '../fhir/consent.js';
import { currentAccess } from '../auth/guard.js';
import { resourceIdParam } from '../auth/compartment.js';
import { badRequest } from '../outcome/errors.js';
import { PHR_FHIR_ROUTES } from './fhir/routes.js';
import { PHB_API_ROUTES } from './v1/routes.js';
import { ADMIN_ROUTES } from './adminRoutes.js';
import type { ProtectedRoute } from './route.js';
import { resourcesOf } from '../fhir/bundle.js';
import { checkReadQuery } from './fhir/http.js';
import { weakEtag } from '../util/etag.js';

/** Consents of one patient, already narrowed by the guard to the patient it allowed. */
async function consentsOf(store: FhirStore): Promise<Consent[]> {
  const { patientId } = currentAccess();
  if (patientId === undefined) throw badRequest('Name the patient', 'patient');
  const bundle = await store.search<Consent>('Consent', { patient: `Patient/${patientId}`, _count: 100 });
  return resourcesOf<Consent>(bundle, 'Consent');
}

/**
 * The routes that serve personal data so far, as one table: each names the permission it needs
 * (a row of src/auth/permissions.ts) and whose data it touches. app.ts mounts them behind the
 * guard, and the access-matrix test runs every role against every row.
 */
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
      checkReadQuery(req);
      const patient = await store.read<Patient>('Patient', resourceIdParam(req.params.id));
      if (patient.meta?.versionId) res.setHeader('ETag', weakEtag(patient.meta.versionId));
      res.type('application/fhir+json').json(patient);
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
      const consents = (await consentsOf(store)).flatMap((c) => {
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
