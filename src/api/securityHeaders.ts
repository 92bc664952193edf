import type { RequestHandler } from 'express';
import helmet from 'helmet';

export interface SecurityHeaderSettings {
  /** Strict-Transport-Security max-age (HSTS_MAX_AGE_SECONDS); 0 = no header, as on plain-http loopback. */
  hstsMaxAgeSeconds: number;
}

/**
 * The headers every answer carries. Everything the facade serves is JSON, so the CSP forbids
 * every kind of content and framing. Cross-Origin-Resource-Policy stays unset: browser SMART apps
 * on other origins read /fhir, and CORS, not CORP, decides which may.
 */
export function securityHeaders(settings: SecurityHeaderSettings): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
    // Only when clients reach the facade over TLS alone (terminated in front of it), or browsers would be told to insist on https it may not offer.
    strictTransportSecurity:
      settings.hstsMaxAgeSeconds > 0 ? { maxAge: settings.hstsMaxAgeSeconds, includeSubDomains: true } : false,
    xFrameOptions: { action: 'deny' },
  });
}

/** Answers with personal data must not be kept by browsers or shared caches. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};
