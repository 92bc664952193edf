import type { FhirStore } from '../store/fhirStore.js';
import { AuditLog } from '../audit/auditLog.js';
import { StoreAccessFacts } from '../auth/facts.js';
import type { AuthDeps } from '../auth/guard.js';
import { IssuerRegistry } from '../auth/issuers.js';
import { TokenVerifier } from '../auth/verify.js';

export interface AuthSettings {
  issuers: readonly string[];
  audience: string;
  algorithms: readonly string[];
  jwksCooldownMs: number;
  clockToleranceSeconds: number;
  phrAppClients: readonly string[];
  timeoutMs: number;
  retryAfterSeconds: number;
  /** The audit log's local spool (one per live facade): see src/audit/spool.ts. */
  auditSpoolDir: string;
}

/** The guard's dependencies, with the audit log itself (main closes it, tests flush it). */
export interface Auth extends AuthDeps {
  issuers: IssuerRegistry;
  audit: AuditLog;
}

/** Where AuditEvents go when not to the clinical store: an audit repository of its own. */
export interface AuditRepository {
  store: FhirStore;
  /** Absolute base for references to the records an event names (the facade's public FHIR base). */
  referenceBase: string;
}

/** Token verification and access facts over the clinical store; the audit log there too unless a repository is given. */
export function createAuth(store: FhirStore, settings: AuthSettings, auditRepository?: AuditRepository): Auth {
  const issuers = new IssuerRegistry({
    issuers: settings.issuers,
    audience: settings.audience,
    jwksCooldownMs: settings.jwksCooldownMs,
    timeoutMs: settings.timeoutMs,
    retryAfterSeconds: settings.retryAfterSeconds,
  });
  return {
    issuers,
    verifier: new TokenVerifier(issuers, {
      audience: settings.audience,
      algorithms: settings.algorithms,
      clockToleranceSeconds: settings.clockToleranceSeconds,
      retryAfterSeconds: settings.retryAfterSeconds,
    }),
    callers: { phrAppClients: settings.phrAppClients },
    facts: new StoreAccessFacts(store),
    audit: auditRepository
      ? new AuditLog(auditRepository.store, {
          referenceBase: auditRepository.referenceBase,
          spoolDir: settings.auditSpoolDir,
        })
      : new AuditLog(store, { spoolDir: settings.auditSpoolDir }),
  };
}
