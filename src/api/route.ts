import type { Request, Response } from 'express';
import type { ReadForAccess } from '../auth/guard.js';
import type { Interaction } from '../auth/scopes.js';
import type { SignOffPolicy } from '../domain/signoff/policy.js';
import type { FhirStore } from '../store/fhirStore.js';
import type { IdempotencyKeys } from './idempotency.js';

/** The shape of one row of the protected routes table (src/api/protectedRoutes.ts), shared by both faces. */
export interface ProtectedRoute {
  face: 'fhir' | 'api';
  method: 'get' | 'post' | 'put';
  /** Express path under the face's mount point. */
  path: string;
  resource: string;
  interaction: Interaction;
  /** Search parameters a search route understands (others are refused), for /fhir/metadata. */
  searchParams?: readonly {
    name: string;
    type: 'reference' | 'token' | 'string' | 'date' | 'uri' | 'number';
    documentation?: string;
  }[];
  /** `_include` / `_revinclude` values a search route follows, for /fhir/metadata. */
  searchInclude?: readonly string[];
  searchRevInclude?: readonly string[];
  /** A system-level interaction this route serves (`POST /fhir` with a transaction), for /fhir/metadata. */
  system?: 'transaction';
  /** A FHIR operation this route serves, for /fhir/metadata; `type` when it is on another type than the permission's. */
  operation?: { name: string; definition: string; type?: string };
  patient: (req: Request) => string | undefined;
  id?: (req: Request) => string | undefined;
  /** Authorize after read: reads the record the request names and gives it with its patient (see the guard). */
  resolvePatient?: (store: FhirStore, req: Request) => Promise<ReadForAccess>;
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

/** The id the route table's example URLs use for a patient's record of this type (documentation and tests). */
export function exampleId(type: string, patientId: string): string {
  return `${patientId}-${type.toLowerCase()}`.slice(0, 64);
}
