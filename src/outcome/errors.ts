import type { OperationOutcome } from 'fhir/r4.js';

/** FHIR issue-type codes used here (http://hl7.org/fhir/issue-type). */
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'invariant'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'processing'
  | 'not-supported'
  | 'duplicate'
  | 'not-found'
  | 'deleted'
  | 'conflict'
  | 'business-rule'
  | 'timeout'
  | 'transient'
  | 'exception'
  | 'throttled'
  | 'informational'
  | 'too-costly'
  | 'incomplete'
  | 'lock-error'
  | 'no-store'
  | 'suppressed'
  | 'multiple-matches'
  | 'too-long'
  | 'code-invalid'
  | 'extension'
  | 'expired'
  | 'unknown';

const ISSUE_CODES: ReadonlySet<string> = new Set<IssueCode>([
  'invalid',
  'structure',
  'required',
  'value',
  'invariant',
  'security',
  'login',
  'forbidden',
  'processing',
  'not-supported',
  'duplicate',
  'not-found',
  'deleted',
  'conflict',
  'business-rule',
  'timeout',
  'transient',
  'exception',
  'throttled',
  'informational',
  'too-costly',
  'incomplete',
  'lock-error',
  'no-store',
  'suppressed',
  'multiple-matches',
  'too-long',
  'code-invalid',
  'extension',
  'expired',
  'unknown',
]);

/** A code from another server (HAPI) kept when it is a known issue type, else 'processing'. */
export function asIssueCode(code: string | undefined): IssueCode {
  return code !== undefined && ISSUE_CODES.has(code) ? (code as IssueCode) : 'processing';
}

export interface Issue {
  code: IssueCode;
  diagnostics: string;
  /** Where the problem is: FHIRPath on /fhir, JSON pointer on /api. */
  location?: string;
}

/**
 * The one error type the service throws. It is rendered in exactly one place per API face:
 * OperationOutcome on /fhir, problem+json on /api.
 */
export class AppError extends Error {
  readonly issues: Issue[];
  constructor(
    readonly status: number,
    issues: Issue | Issue[],
    readonly options: {
      retryAfterSeconds?: number;
      outcome?: OperationOutcome;
      reason?: StoreFailure;
      headers?: Readonly<Record<string, string>>;
    } = {},
  ) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.map((i) => i.diagnostics).join('; '));
    this.name = 'AppError';
    this.issues = list;
  }
}

/** Why the store refused or failed: lets each API face choose its own status (e.g. 409 vs 412). */
export type StoreFailure = 'version-conflict' | 'not-found' | 'gone' | 'rejected' | 'unavailable' | 'upstream-error';

/**
 * HAPI refused a write because the records changed underneath it: a stale If-Match
 * ('version-conflict'), or a 409/412 from a transaction's conditional entries.
 */
export function isStoreConflict(e: unknown): e is AppError {
  return e instanceof AppError && (e.options.reason === 'version-conflict' || e.status === 409 || e.status === 412);
}

export const badRequest = (diagnostics: string, location?: string): AppError =>
  new AppError(400, { code: 'invalid', diagnostics, location });

export const notFound = (diagnostics: string): AppError => new AppError(404, { code: 'not-found', diagnostics });

export const unavailable = (diagnostics: string, retryAfterSeconds: number): AppError =>
  new AppError(503, { code: 'transient', diagnostics }, { retryAfterSeconds, reason: 'unavailable' });

/** 429: the caller or address has spent its allowance (src/api/rateLimit.ts); `Retry-After` says when to come back. */
export const tooManyRequests = (diagnostics: string, retryAfterSeconds: number): AppError =>
  new AppError(429, { code: 'throttled', diagnostics }, { retryAfterSeconds });

/** 401: no usable credentials; `challenge` is the WWW-Authenticate value (RFC 6750). */
export const unauthorized = (diagnostics: string, challenge: string): AppError =>
  new AppError(401, { code: 'login', diagnostics }, { headers: { 'WWW-Authenticate': challenge } });

/** 403: the caller is known but may not do this. */
export const forbidden = (diagnostics: string, headers?: Readonly<Record<string, string>>): AppError =>
  new AppError(403, { code: 'forbidden', diagnostics }, headers ? { headers } : {});
