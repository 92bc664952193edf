import type { Request, RequestHandler } from 'express';
import { AppError } from '../outcome/errors.js';
import { PROTECTED_ROUTES } from './protectedRoutes.js';

const SMART_CONFIGURATION = '/.well-known/smart-configuration';

/** What a browser app sends beyond the CORS-safelisted headers: the token, FHIR JSON bodies, writes' preconditions. */
const ALLOWED_HEADERS = 'Authorization, Content-Type, If-Match, Idempotency-Key, Prefer';
/** Headers the app must read: versions, where a created resource is, when to retry, the id to quote, why a token failed. */
const EXPOSED_HEADERS = 'ETag, Location, Retry-After, X-Request-Id, WWW-Authenticate';
const MAX_AGE_SECONDS = '600';

/** The methods the /fhir face serves, from the route table, so a preflight offers nothing it does not. */
const FHIR_METHODS = [
  ...new Set(['GET', ...PROTECTED_ROUTES.filter((r) => r.face === 'fhir').map((r) => r.method.toUpperCase())]),
].join(', ');

function methodsFor(req: Request): string | undefined {
  if (req.path === SMART_CONFIGURATION || req.path === `/fhir${SMART_CONFIGURATION}`) return 'GET';
  if (req.path === '/fhir' || req.path.startsWith('/fhir/')) return FHIR_METHODS;
  return undefined;
}

/**
 * CORS for browser SMART apps on the origins configured (CORS_ALLOWED_ORIGINS), on /fhir and SMART
 * discovery only. Tokens travel in Authorization, never in cookies, so credentials are never
 * allowed and the origin is always echoed exactly, never `*`. Another origin gets no CORS headers
 * (its page cannot read the answer) and its preflight a 403.
 */
export function cors(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, res, next) => {
    const methods = methodsFor(req);
    const origin = req.get('origin');
    if (methods === undefined || origin === undefined) {
      next();
      return;
    }
    res.vary('Origin');
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined;
    if (!allowed.has(origin)) {
      if (!preflight) {
        next();
        return;
      }
      next(
        new AppError(403, {
          code: 'forbidden',
          diagnostics: `Origin ${origin} is not allowed to call this service from a browser (CORS_ALLOWED_ORIGINS)`,
        }),
      );
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    if (!preflight) {
      res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
      next();
      return;
    }
    res.vary('Access-Control-Request-Headers');
    res.setHeader('Access-Control-Allow-Methods', methods);
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', MAX_AGE_SECONDS);
    res.status(204).end();
  };
}
