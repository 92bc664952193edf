import type { OperationOutcome } from 'fhir/r4.js';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../outcome/errors.js';
import { currentRequestId } from '../context/requestContext.js';
import { log } from '../log/logger.js';

/** Anything thrown becomes an AppError; unknown errors are 500 without internal detail. */
function asAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  // body-parser marks its own client errors (malformed JSON, too large, bad charset) with a 4xx status.
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const type = (err as { type?: unknown }).type;
    const diagnostics =
      type === 'entity.parse.failed'
        ? 'The request body is not valid JSON'
        : type === 'entity.too.large'
          ? 'The request body is too large'
          : 'The request body could not be read';
    return new AppError(status, { code: type === 'entity.too.large' ? 'too-long' : 'structure', diagnostics });
  }
  return new AppError(500, { code: 'exception', diagnostics: 'An unexpected error occurred' });
}

/** The status each API face uses: a lost If-Match race is 412 on /fhir (FHIR) and 409 on /api. */
function statusFor(err: AppError, face: 'fhir' | 'api'): number {
  if (err.options.reason === 'version-conflict') return face === 'fhir' ? 412 : 409;
  return err.status;
}

function logError(err: unknown, app: AppError, status: number): void {
  if (status >= 500) log().error('request failed', { status, error: err instanceof Error ? err.stack : String(err) });
  else log().info('request refused', { status, issues: app.issues.map((i) => i.code) });
}

function setRetryAfter(res: Response, app: AppError): void {
  if (app.options.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(app.options.retryAfterSeconds));
  for (const [name, value] of Object.entries(app.options.headers ?? {})) res.setHeader(name, value);
}

export function toOperationOutcome(app: AppError): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: app.issues.map((i) => ({
      severity: 'error',
      code: i.code,
      diagnostics: i.diagnostics,
      ...(i.location ? { expression: [i.location] } : {}),
    })),
  };
}

/** The one renderer of errors on /fhir. */
export function fhirErrorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const app = asAppError(err);
  const status = statusFor(app, 'fhir');
  logError(err, app, status);
  setRetryAfter(res, app);
  res.status(status).type('application/fhir+json').json(toOperationOutcome(app));
}

/** The one renderer of errors on /api and the service endpoints: RFC 9457 problem details. */
export function problemErrorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  const app = asAppError(err);
  const status = statusFor(app, 'api');
  logError(err, app, status);
  setRetryAfter(res, app);
  const [first] = app.issues;
  res
    .status(status)
    .type('application/problem+json')
    .json({
      type: `urn:phb-facade:problem:${first?.code ?? 'exception'}`,
      title: first?.code ?? 'exception',
      status,
      detail: app.message,
      instance: req.originalUrl.split('?')[0],
      requestId: currentRequestId(),
      errors: app.issues.map((i) => ({
        code: i.code,
        detail: i.diagnostics,
        ...(i.location ? { pointer: i.location } : {}),
      })),
    });
}
