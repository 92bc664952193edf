import type { FhirStore } from '../store/fhirStore.js';
import { AuditLog } from '../audit/auditLog.js';
import { StoreAccessFacts } from './facts.js';
import type { AuthDeps } from './guard.js';
import { IssuerRegistry } from './issuers.js';
import { TokenVerifier } from './verify.js';

export interface AuthSettings {
  issuers: readonly string[];
  audience: string;
  algorithms: readonly string[];
  jwksCooldownMs: number;
  clockToleranceSeconds: number;
  phrAppClients: readonly string[];
  timeoutMs: number;
  retryAfterSeconds: number;
}

export interface Auth extends AuthDeps {
  issuers: IssuerRegistry;
}

/** Token verification, access facts and the audit log, all over the one store. */
export function createAuth(store: FhirStore, settings: AuthSettings): Auth {
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
    audit: new AuditLog(store),
  };
}
