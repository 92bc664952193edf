import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../outcome/errors.js';

/**
 * Format and version negotiation for /fhir: the facade speaks FHIR R4 (4.0) as JSON only. A
 * request that asks for anything else (XML, turtle, another FHIR version) by `Accept`,
 * `_format` or, on a write, `Content-Type` is refused (406 / 415) naming what is served, rather
 * than answered in a format it did not ask for.
 */

const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json+fhir']);
/** `_format` shorthands (FHIR R4 http.html#mime-type). */
const FORMAT_SHORTHANDS = new Set(['json', 'application/json', 'application/fhir+json']);
const WILDCARDS = new Set(['*/*', 'application/*']);
/** FHIR R4 as the `fhirVersion` media-type parameter names it (4.0, or a 4.0.x patch). */
const R4 = /^4\.0(\.\d+)?$/;

export const SERVED_FORMAT = 'application/fhir+json; fhirVersion=4.0';

interface MediaRange {
  type: string;
  q: number;
  fhirVersion?: string;
}

function parseRange(text: string): MediaRange {
  const [type = '', ...params] = text.split(';').map((s) => s.trim());
  const range: MediaRange = { type: type.toLowerCase(), q: 1 };
  for (const param of params) {
    const [name = '', raw = ''] = param.split('=').map((s) => s.trim());
    const value = raw.replace(/^"|"$/g, '');
    if (name.toLowerCase() === 'q') range.q = Number(value);
    if (name.toLowerCase() === 'fhirversion') range.fhirVersion = value;
  }
  return range;
}

/** Why a media range is not served, or undefined when it is. */
function refusalOf(range: MediaRange, wildcardsServed: boolean): string | undefined {
  if (range.fhirVersion !== undefined && !R4.test(range.fhirVersion))
    return `FHIR version ${range.fhirVersion} is not served`;
  if (JSON_TYPES.has(range.type) || (wildcardsServed && WILDCARDS.has(range.type))) return undefined;
  return `${range.type || 'an empty media type'} is not served`;
}

const notAcceptable = (status: 406 | 415, why: string, location: string): AppError =>
  new AppError(status, {
    code: 'not-supported',
    diagnostics: `${why}: this server serves FHIR R4 (4.0) as JSON only (${SERVED_FORMAT})`,
    location,
  });

export function fhirFormat(req: Request, _res: Response, next: NextFunction): void {
  const format = (req.query as Record<string, unknown>)._format;
  if (format !== undefined) {
    const list = Array.isArray(format) ? format : [format];
    for (const value of list) {
      const text = typeof value === 'string' ? value : '';
      const range = parseRange(text);
      const version = range.fhirVersion;
      if (!FORMAT_SHORTHANDS.has(range.type) || (version !== undefined && !R4.test(version)))
        return next(notAcceptable(406, `_format=${text} is not served`, '_format'));
    }
  }
  const accept = req.get('accept');
  if (accept !== undefined && accept.trim() !== '') {
    const ranges = accept.split(',').map(parseRange);
    const served = ranges.filter((r) => r.q > 0 && refusalOf(r, true) === undefined);
    if (served.length === 0) {
      const why = ranges.map((r) => refusalOf(r, true) ?? `${r.type} with q=0`).join('; ');
      return next(notAcceptable(406, `Accept: ${why}`, 'Accept'));
    }
  }
  const contentType = req.get('content-type');
  if (contentType !== undefined && req.method !== 'GET' && req.method !== 'HEAD') {
    const why = refusalOf(parseRange(contentType), false);
    if (why !== undefined) return next(notAcceptable(415, `Content-Type: ${why}`, 'Content-Type'));
  }
  next();
}
