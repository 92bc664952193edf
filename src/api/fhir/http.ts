import type { FhirResource } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import { AppError, badRequest } from '../../outcome/errors.js';
import { etagVersion, weakEtag } from '../../util/etag.js';

/** Small request/response helpers the /fhir routes share. */

/** The facade's own FHIR base as the caller reached it. */
export function baseUrl(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
}

export function sendResource(res: Response, resource: FhirResource, status = 200): void {
  if (resource.meta?.versionId) res.setHeader('ETag', weakEtag(resource.meta.versionId));
  res.status(status).type('application/fhir+json').json(resource);
}

/** The version an `If-Match: W/"3"` header names, if any. */
export function ifMatchVersion(req: Request): string | undefined {
  const header = req.get('if-match');
  if (header === undefined) return undefined;
  const version = etagVersion(header);
  if (version === undefined) throw badRequest('If-Match must be an ETag such as W/"3"', 'If-Match');
  return version;
}

/**
 * A read takes no parameters but `_format` (checked by the format negotiation): `_summary`,
 * `_elements` and the like are refused, never ignored, so a client does not believe it got less.
 */
export function checkReadQuery(req: Request): void {
  for (const name of Object.keys(req.query as Record<string, unknown>)) {
    if (name !== '_format')
      throw new AppError(400, {
        code: 'not-supported',
        diagnostics: `A read takes no parameter ${name} here (only _format)`,
        location: name,
      });
  }
}
