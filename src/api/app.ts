import express, { type Express } from 'express';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FhirStore } from '../store/fhirStore.js';
import { AppError } from '../outcome/errors.js';
import { requestContext } from './context.js';
import { fhirErrorHandler, problemErrorHandler } from './render.js';
import { fhirFormat } from './fhir/format.js';
import { healthRouter, type Readiness } from './readiness.js';
import { createAuth, type Auth } from './authSetup.js';
import { permissionGuard, type RequirePermission } from '../auth/guard.js';
import { PROTECTED_ROUTES } from './protectedRoutes.js';
import { smartRouter } from './smartRouter.js';
import { metadataRouter } from './metadata.js';
import { openApiDocument } from './v1/openapi.js';
import { loadPolicy } from '../config/policy.js';
import type { SignOffPolicy } from '../domain/signoff/policy.js';
import type { RouteDeps } from './route.js';
import { IdempotencyKeys } from './idempotency.js';
import { addressLimit, callerLimit, RateLimiter, type RateLimits } from './rateLimit.js';
import { noStore, securityHeaders } from './securityHeaders.js';
import { cors } from './cors.js';

export interface AppDeps {
  store: FhirStore;
  /** The audit repository, when it is not the clinical store: /ready checks it too. */
  auditStore?: FhirStore;
  readiness: Readiness;
  retryAfterSeconds: number;
  /** Without it no issuer is trusted, so every protected route answers 401 (deny by default). */
  auth?: Auth;
  /** The sign-off policy loaded (and checked) at start; the shipped City and Hackney default when absent. */
  policy?: SignOffPolicy;
  /** How long an in-progress Idempotency-Key keeps other requests out (IDEMPOTENCY_LEASE_MS); 30 s when absent. */
  idempotencyLeaseMs?: number;
  /** Strict-Transport-Security max-age (HSTS_MAX_AGE_SECONDS); no header when absent or 0. */
  hstsMaxAgeSeconds?: number;
  /** Requests per window per address and per caller (RATE_LIMIT_*); no limits when absent. */
  rateLimits?: RateLimits;
  /** Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (TRUST_PROXY); none when absent or empty. */
  trustProxy?: readonly string[];
  /** Browser origins allowed to call /fhir and SMART discovery (CORS_ALLOWED_ORIGINS); none when absent. */
  corsAllowedOrigins?: readonly string[];
}

const JSON_TYPES = ['application/json', 'application/fhir+json', 'application/*+json'];
const BODY_LIMIT = '5mb';
/** The domain API carries plans and answers, never documents: anything bigger is refused (413). */
const API_BODY_LIMIT = '1mb';

/** Wiring only: context, parsers, one router per area, one error renderer per API face. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy?.length ? [...deps.trustProxy] : false);
  // Before the context, so even an answer the audit barrier withholds keeps them.
  app.use(securityHeaders({ hstsMaxAgeSeconds: deps.hstsMaxAgeSeconds ?? 0 }));
  // Also before the rate limit and the context: a browser app must be able to read a 429, a 401 or a withheld answer too.
  app.use(cors(deps.corsAllowedOrigins ?? []));
  app.use(requestContext({ retryAfterSeconds: deps.retryAfterSeconds }));

  // Probes stay outside the limits: an orchestrator polling them must never be refused.
  app.use(healthRouter(deps.store, deps.readiness, deps.retryAfterSeconds, deps.auditStore));
  const limits = deps.rateLimits ?? { windowMs: 60000, perAddress: 0, perCaller: 0 };
  app.use(addressLimit(new RateLimiter({ limit: limits.perAddress, windowMs: limits.windowMs })));
  // A refusal made before the faces' routers is still answered in the face's own format.
  app.use('/fhir', fhirErrorHandler);
  // Deny by default: with no auth given, no issuer is trusted and every protected route answers 401.
  const auth =
    deps.auth ??
    createAuth(deps.store, {
      issuers: [],
      audience: 'unconfigured',
      algorithms: ['RS256'],
      jwksCooldownMs: 30000,
      clockToleranceSeconds: 0,
      phrAppClients: [],
      timeoutMs: 5000,
      retryAfterSeconds: deps.retryAfterSeconds,
      // A spool of its own, so an unconfigured app never takes the directory of a configured one.
      auditSpoolDir: mkdtempSync(path.join(os.tmpdir(), 'phb-audit-spool-')),
    });
  const requirePermission = permissionGuard(auth, {
    admit: callerLimit(new RateLimiter({ limit: limits.perCaller, windowMs: limits.windowMs })),
  });
  const routeDeps: RouteDeps = {
    policy: deps.policy ?? loadPolicy('city-and-hackney'),
    idempotency: new IdempotencyKeys(deps.store, {
      leaseMs: deps.idempotencyLeaseMs ?? 30000,
      retryAfterSeconds: deps.retryAfterSeconds,
    }),
  };
  app.use(smartRouter(auth.issuers));

  const fhir = express.Router();
  fhir.use(fhirFormat);
  fhir.use(express.json({ type: JSON_TYPES, limit: BODY_LIMIT }));
  fhir.use(smartRouter(auth.issuers));
  fhir.use(metadataRouter(auth.issuers, (deps.corsAllowedOrigins ?? []).length > 0));
  mountProtected(fhir, 'fhir', requirePermission, deps.store, routeDeps);
  fhir.use((req, _res, next) => {
    next(
      new AppError(404, {
        code: 'not-supported',
        diagnostics: `${req.method} ${req.baseUrl}${req.path} is not supported by this server`,
      }),
    );
  });
  fhir.use(fhirErrorHandler);
  app.use('/fhir', fhir);

  const api = express.Router();
  api.use(express.json({ type: JSON_TYPES, limit: API_BODY_LIMIT }));
  const openApi = openApiDocument();
  api.get('/v1/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  mountProtected(api, 'api', requirePermission, deps.store, routeDeps);
  api.use((req, _res, next) => {
    next(
      new AppError(404, { code: 'not-found', diagnostics: `${req.method} ${req.baseUrl}${req.path} does not exist` }),
    );
  });
  api.use(problemErrorHandler);
  app.use('/api', api);

  app.use((req, _res, next) => {
    next(new AppError(404, { code: 'not-found', diagnostics: `${req.method} ${req.path} does not exist` }));
  });
  app.use(problemErrorHandler);
  return app;
}

/** Each protected route behind the guard that asks the permission table for its row. */
function mountProtected(
  router: express.Router,
  face: 'fhir' | 'api',
  requirePermission: RequirePermission,
  store: FhirStore,
  routeDeps: RouteDeps,
): void {
  for (const route of PROTECTED_ROUTES.filter((r) => r.face === face)) {
    const { resolvePatient } = route;
    router[route.method](
      route.path,
      noStore,
      requirePermission(route.resource, route.interaction, {
        patient: route.patient,
        ...(route.id ? { id: route.id } : {}),
        ...(resolvePatient ? { resolvePatient: (req: express.Request) => resolvePatient(store, req) } : {}),
        ...(route.reachPerPatient ? { reachPerPatient: true } : {}),
        ...(route.consentInRecords ? { consentInRecords: true } : {}),
      }),
      (req, res) => route.handle(store, req, res, routeDeps),
    );
  }
}
