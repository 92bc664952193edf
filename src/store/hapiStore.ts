import { Client, RESPONSE_KEY, type FhirResponse, type RequestOptions } from 'fhir-kit-client';
import type { Bundle, CapabilityStatement, FhirResource, OperationOutcome, Parameters } from 'fhir/r4.js';
import { AppError, asIssueCode, unavailable, type Issue, type StoreFailure } from '../outcome/errors.js';
import { currentRequestId } from '../context/requestContext.js';
import { log } from '../log/logger.js';
import { etagVersion, weakEtag } from '../util/etag.js';
import type { FhirStore, HistoryQuery, SearchParams, StoreCallOptions, WriteResult } from './fhirStore.js';

export interface HapiStoreSettings {
  baseUrl: string;
  timeoutMs: number;
  retryAfterSeconds: number;
}

/** The shape fhir-kit-client gives a failed HTTP exchange. */
interface ClientHttpError {
  response: { status: number; data: unknown };
}

function isClientHttpError(e: unknown): e is ClientHttpError {
  if (typeof e !== 'object' || e === null || !('response' in e)) return false;
  const response = (e as { response: unknown }).response;
  return (
    typeof response === 'object' && response !== null && typeof (response as { status: unknown }).status === 'number'
  );
}

function isOperationOutcome(data: unknown): data is OperationOutcome {
  return (
    typeof data === 'object' &&
    data !== null &&
    (data as { resourceType?: unknown }).resourceType === 'OperationOutcome'
  );
}

/** A search in our words, naming what the client sent, for a refusal to quote back. */
function searchSubject(resourceType: string, params: SearchParams): string {
  const given = Object.entries(params)
    .filter(([k]) => k !== '_count' && k !== '_offset')
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`));
  return `the ${resourceType} search${given.length ? ` with ${given.join('&')}` : ''}`;
}

const capitalised = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * A refusal in our words, naming what was asked for. HAPI's diagnostics (HAPI-nnnn messages about
 * its own internals) never reach a client; its issue code and FHIRPath location are kept.
 */
function refusal(status: number, reason: StoreFailure, what: string, outcome?: OperationOutcome): Issue {
  const first = outcome?.issue?.[0];
  const location = first?.expression?.[0] ?? first?.location?.[0];
  const at = location ? { location } : {};
  const subject = capitalised(what);
  switch (status) {
    case 400:
      return { code: 'invalid', diagnostics: `${subject} is not a request the FHIR store can run`, ...at };
    case 404:
      return { code: 'not-found', diagnostics: `${subject} is not known` };
    case 410:
      return { code: 'deleted', diagnostics: `${subject} was deleted` };
    case 409:
    case 412:
      return {
        code: 'conflict',
        diagnostics:
          reason === 'version-conflict'
            ? `${subject} was changed since the version given`
            : `${subject} conflicts with the records as they are now`,
        ...at,
      };
    case 422:
      return {
        code: asIssueCode(first?.code),
        diagnostics: `${subject} breaks a rule of the FHIR store (its profile, or a reference to a record it does not hold)`,
        ...at,
      };
    default:
      return { code: 'processing', diagnostics: `The FHIR store refused ${what} (HTTP ${status})`, ...at };
  }
}

/**
 * HAPI's message for our log: its message codes only (HAPI-1940 names the message in HAPI's source). The words
 * can quote what the client sent (a name, an NHS number); HAPI's own log has them, under the same X-Request-Id.
 */
function hapiCodesForLog(outcome: OperationOutcome | undefined): string[] {
  return (outcome?.issue ?? []).flatMap((i) => `${i.diagnostics ?? ''}`.match(/HAPI-\d+/g) ?? []);
}

/** HAPI's message codes (`HAPI-1821: ...`): text about HAPI itself, not to be passed on. */
const HAPI_TEXT = /HAPI-\d+/;

/**
 * $validate's findings as they may be passed on: the validator's own findings name the element
 * and stay; HAPI's parser messages (HAPI-nnnn) are replaced by ours, at the place they name.
 */
function validationResult(outcome: OperationOutcome): OperationOutcome {
  return {
    ...outcome,
    issue: (outcome.issue ?? []).map((i) =>
      HAPI_TEXT.test(`${i.diagnostics ?? ''} ${i.details?.text ?? ''}`)
        ? {
            severity: i.severity,
            code: i.code,
            diagnostics:
              'The resource cannot be read as FHIR R4 JSON here (a value in the wrong form or an unknown element)',
            ...(i.expression ? { expression: i.expression } : {}),
            ...(i.location ? { location: i.location } : {}),
          }
        : i,
    ),
  };
}

/** Reads that can be repeated without effect. */
const SAFE_ACTIONS = new Set(['read', 'search', 'history', 'capabilities', 'validate']);

/** Writes that HAPI runs in one database transaction each (a batch: one per entry). */
const WRITE_ACTIONS = new Set(['create', 'update', 'transaction', 'batch']);

/**
 * How often HAPI itself runs a write again in a fresh transaction after it lost a race on one of HAPI's unique
 * indexes (X-Retry-On-Version-Conflict, docker/hapi registers the interceptor), and how often the adapter then
 * sends it again itself, after a short jittered pause.
 */
const HAPI_RACE_RETRIES = 3;
const ADAPTER_RACE_RETRIES = 3;
const RACE_BACKOFF_MS = 40;

/**
 * HAPI's codes for a write that lost a race with a concurrent one on one of its unique indexes: the same new
 * version (0823), the same new client id (0825), the same If-None-Exist (2745). HAPI rolled the attempt back.
 */
const RACE_CODES = /\bHAPI-(0823|0825|2745)\b/;

function diagnosticsOf(data: unknown): string {
  return isOperationOutcome(data) ? (data.issue ?? []).map((i) => i.diagnostics ?? '').join(' ') : '';
}

/**
 * True when HAPI refused a write because it lost a race on one of HAPI's own unique indexes and rolled back the
 * whole attempt, so nothing of it was written and sending it again is safe: a 409 naming one of RACE_CODES, or a
 * 500 for a transaction that was "silently rolled back" (HAPI-2223: an inner insert into one of HAPI's own tables
 * failed on its unique index). Never a stale If-Match (HAPI-0989) or any other refusal.
 */
function isLostIndexRace(e: unknown): boolean {
  if (!isClientHttpError(e)) return false;
  const { status, data } = e.response;
  const text = diagnosticsOf(data);
  if (status === 409) return RACE_CODES.test(text);
  return status === 500 && /\bHAPI-2223\b/.test(text) && /rolled back/i.test(text);
}

/**
 * HAPI's 500 when its database is out of reach or busy: no connection free within the pool's
 * timeout (HAPI-0389 wrapping a failure to open a transaction), a pooled connection that died, or
 * a statement cut off as PostgreSQL stopped. Later it will likely work; whether a write that lost its connection
 * mid-way was stored is not known, so it is retried with the same Idempotency-Key, never blindly.
 */
const DATABASE_UNAVAILABLE = new RegExp(
  [
    'CannotCreateTransactionException',
    'Unable to acquire JDBC Connection',
    'Unable to rollback against JDBC Connection',
    'JDBCConnectionException',
    // PostgreSQL's words when it goes away under a statement (a shutdown, a lost socket).
    'terminating connection due to administrator command',
    'An I/O error occurred while sending to the backend',
    'This connection has been closed',
  ].join('|'),
);

function isDatabaseUnavailable(status: number, data: unknown): boolean {
  return status === 500 && DATABASE_UNAVAILABLE.test(diagnosticsOf(data));
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// Errors from fetch come from Node's own realm, so `instanceof Error` can be false (e.g. in
// jest's VM): look at their fields instead.
function errorName(e: unknown): string {
  const name = (e as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : typeof e;
}

function causeCode(e: unknown): string | undefined {
  const code = (e as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

function isTimeout(e: unknown): boolean {
  const name = errorName(e);
  return name === 'TimeoutError' || name === 'AbortError';
}

function isConnectionFailure(e: unknown): boolean {
  return !isClientHttpError(e) && !isTimeout(e);
}

/**
 * Sent with every call. HAPI sits next to the facade, so compressing answers would only cost CPU
 * at both ends.
 */
export const STORE_HEADERS: Readonly<Record<string, string>> = { 'accept-encoding': 'identity' };

/** What a search sends besides STORE_HEADERS: it must see writes made a moment ago, whatever the server's reuse setting. */
export const SEARCH_HEADERS: Readonly<Record<string, string>> = { 'cache-control': 'no-cache' };

/** HAPI over fhir-kit-client: the only module that talks to HAPI. */
export class HapiStore implements FhirStore {
  private readonly client: Client;

  constructor(private readonly settings: HapiStoreSettings) {
    this.client = new Client({ baseUrl: settings.baseUrl });
  }

  async read<T extends FhirResource>(
    resourceType: T['resourceType'],
    id: string,
    options: StoreCallOptions = {},
  ): Promise<T> {
    return this.call<T>('read', `${resourceType}/${id}`, options, {}, (o) =>
      this.client.read({ resourceType, id, options: o }),
    );
  }

  async readIfExists<T extends FhirResource>(
    resourceType: T['resourceType'],
    id: string,
    options: StoreCallOptions = {},
  ): Promise<T | undefined> {
    try {
      return await this.read<T>(resourceType, id, options);
    } catch (e) {
      if (e instanceof AppError && (e.options.reason === 'not-found' || e.options.reason === 'gone')) return undefined;
      throw e;
    }
  }

  async search<T extends FhirResource = FhirResource>(
    resourceType: T['resourceType'],
    params: SearchParams,
    options: StoreCallOptions = {},
  ): Promise<Bundle<T>> {
    return this.call<Bundle<T>>('search', searchSubject(resourceType, params), options, SEARCH_HEADERS, (o) =>
      this.client.search({ resourceType, searchParams: params, options: o }),
    );
  }

  async create<T extends FhirResource>(
    resource: T,
    options: StoreCallOptions & { ifNoneExist?: string } = {},
  ): Promise<WriteResult<T>> {
    const headers: Record<string, string> = { prefer: 'return=representation' };
    if (options.ifNoneExist) headers['if-none-exist'] = options.ifNoneExist;
    const result = await this.call('create', `the new ${resource.resourceType}`, options, headers, (o) =>
      this.client.create({
        resourceType: resource.resourceType,
        body: resource as FhirResource & Record<string, unknown>,
        options: o,
      }),
    );
    return this.writeResult<T>(result);
  }

  async update<T extends FhirResource & { id: string }>(
    resource: T,
    options: StoreCallOptions & { ifMatchVersion?: string } = {},
  ): Promise<WriteResult<T>> {
    const headers: Record<string, string> = { prefer: 'return=representation' };
    if (options.ifMatchVersion !== undefined) headers['if-match'] = weakEtag(options.ifMatchVersion);
    const result = await this.call('update', `${resource.resourceType}/${resource.id}`, options, headers, (o) =>
      this.client.update({
        resourceType: resource.resourceType,
        id: resource.id,
        body: resource as FhirResource & Record<string, unknown>,
        options: o,
      }),
    );
    return this.writeResult<T>(result);
  }

  async transaction(bundle: Bundle, options: StoreCallOptions = {}): Promise<Bundle> {
    // An entry with If-Match makes a 409/412 from HAPI a lost race, as it does for a single update.
    const conditional = (bundle.entry ?? []).some((e) => e.request?.ifMatch !== undefined);
    return this.call<Bundle>(
      'transaction',
      'the transaction',
      options,
      { prefer: 'return=representation' },
      (o) => this.client.transaction({ body: bundle as Bundle & Record<string, unknown>, options: o }),
      conditional,
    );
  }

  async bulkWrite(bundle: Bundle, options: StoreCallOptions = {}): Promise<Bundle> {
    return this.call<Bundle>(
      bundle.type === 'batch' ? 'batch' : 'transaction',
      `the ${bundle.type === 'batch' ? 'batch' : 'transaction'}`,
      options,
      { prefer: 'return=minimal', 'content-type': 'application/fhir+json' },
      (o) => this.client.request('', { method: 'POST', body: bundle as Bundle & Record<string, unknown>, options: o }),
    );
  }

  async history(query: HistoryQuery, options: StoreCallOptions = {}): Promise<Bundle> {
    let url: string;
    if (query.page !== undefined) {
      // Only HAPI's own paging links are followed, never an arbitrary URL.
      if (!query.page.startsWith(`${this.settings.baseUrl}?`) && !query.page.startsWith(`${this.settings.baseUrl}/`)) {
        throw new AppError(400, { code: 'invalid', diagnostics: 'A history page link must point at the FHIR store' });
      }
      url = query.page;
    } else {
      const path = [query.resourceType, query.id, '_history'].filter((p) => p !== undefined).join('/');
      const params = new URLSearchParams();
      if (query.since !== undefined) params.set('_since', query.since);
      if (query.count !== undefined) params.set('_count', String(query.count));
      url = params.size ? `${path}?${params.toString()}` : path;
    }
    return this.call<Bundle>('history', 'the history', options, { 'cache-control': 'no-cache' }, (o) =>
      this.client.request(url, { method: 'GET', options: o }),
    );
  }

  async capabilities(options: StoreCallOptions = {}): Promise<CapabilityStatement> {
    return this.call<CapabilityStatement>('capabilities', 'the capability statement', options, {}, (o) =>
      this.client.capabilityStatement(o),
    );
  }

  async validate(resource: FhirResource, profile?: string, options: StoreCallOptions = {}): Promise<OperationOutcome> {
    const query = profile ? `?profile=${encodeURIComponent(profile)}` : '';
    try {
      return await this.call<OperationOutcome>(
        'validate',
        `the validation of a ${resource.resourceType}`,
        options,
        { 'content-type': 'application/fhir+json' },
        (o) =>
          this.client.request(`${resource.resourceType}/$validate${query}`, {
            method: 'POST',
            body: resource as FhirResource & Record<string, unknown>,
            options: o,
          }),
      );
    } catch (e) {
      // HAPI answers an invalid resource with 412, and one it cannot even parse (e.g. a malformed date) with 400,
      // each with the outcome: that is a result, not a failure.
      if (e instanceof AppError && e.options.outcome && (e.status === 412 || e.status === 400))
        return validationResult(e.options.outcome);
      throw e;
    }
  }

  async validateCode(valueSet: string, system: string, code: string, options: StoreCallOptions = {}): Promise<boolean> {
    const query = new URLSearchParams({ url: valueSet, system, code });
    const result = await this.call<Parameters>(
      'validate-code',
      `the check of a code against ${valueSet}`,
      options,
      {},
      (o) => this.client.request(`ValueSet/$validate-code?${query.toString()}`, { method: 'GET', options: o }),
    );
    return result.parameter?.find((p) => p.name === 'result')?.valueBoolean === true;
  }

  private writeResult<T extends FhirResource>(result: FhirResponse): WriteResult<T> {
    const response = result[RESPONSE_KEY];
    const resource = result as unknown as T;
    const versionId = resource.meta?.versionId ?? etagVersion(response?.headers.get('etag') ?? '') ?? '';
    return { resource, created: response?.status === 201, versionId };
  }

  /**
   * Runs one HAPI exchange with a deadline and turns every failure into an AppError. A read
   * that fails at the connection (e.g. a pooled socket HAPI closed when it restarted) is tried
   * once more: it is safe to repeat, and otherwise the first request after a restart fails.
   * A write not conditional on a version asks HAPI to retry the unique-index races it loses, and
   * is sent again here (a few times, within its deadline) if HAPI still lost one: HAPI rolled it
   * back, so it wrote nothing. A write with If-Match is never repeated: losing is a version conflict.
   */
  private async call<R = FhirResponse>(
    action: string,
    /** What was asked for, in our words: a refusal names it instead of passing on HAPI's text. */
    what: string,
    options: StoreCallOptions,
    headers: Record<string, string>,
    exchange: (o: RequestOptions) => Promise<FhirResponse>,
    conditionalOnVersion = 'if-match' in headers,
  ): Promise<R> {
    const started = Date.now();
    // The request being served, unless the caller names another: HAPI's logs join ours by it.
    const requestId = options.requestId ?? currentRequestId();
    const retriesRaces = WRITE_ACTIONS.has(action) && !conditionalOnVersion;
    const allHeaders = {
      ...STORE_HEADERS,
      ...headers,
      ...(requestId ? { 'x-request-id': requestId } : {}),
      ...(retriesRaces ? { 'x-retry-on-version-conflict': `retry; max-retries=${HAPI_RACE_RETRIES}` } : {}),
    };
    const timeoutMs = options.timeoutMs ?? this.settings.timeoutMs;
    const attempt = async (): Promise<R> =>
      (await exchange({ headers: allHeaders, signal: AbortSignal.timeout(timeoutMs) })) as unknown as R;
    for (let racesLost = 0; ; racesLost++) {
      try {
        return await attempt();
      } catch (first) {
        if (
          retriesRaces &&
          racesLost < ADAPTER_RACE_RETRIES &&
          Date.now() - started < timeoutMs &&
          isLostIndexRace(first)
        ) {
          log().info('fhir store write lost a race and was rolled back; sending it again', {
            action,
            racesLost: racesLost + 1,
          });
          await pause(RACE_BACKOFF_MS * 2 ** racesLost * (0.5 + Math.random()));
          continue;
        }
        if (SAFE_ACTIONS.has(action) && isConnectionFailure(first)) {
          try {
            return await attempt();
          } catch (second) {
            throw this.translate(second, action, what, false, Date.now() - started, timeoutMs);
          }
        }
        throw this.translate(first, action, what, conditionalOnVersion, Date.now() - started, timeoutMs);
      }
    }
  }

  private translate(
    e: unknown,
    action: string,
    what: string,
    conditionalOnVersion: boolean,
    elapsedMs: number,
    timeoutMs: number,
  ): AppError {
    if (!isClientHttpError(e)) {
      const timedOut = isTimeout(e);
      log().warn('fhir store unreachable', { action, timedOut, elapsedMs, error: errorName(e), cause: causeCode(e) });
      return unavailable(
        timedOut ? `The FHIR store did not answer within ${timeoutMs} ms` : 'The FHIR store is unreachable',
        this.settings.retryAfterSeconds,
      );
    }
    const { status, data } = e.response;
    const outcome = isOperationOutcome(data) ? data : undefined;
    // A race HAPI kept losing (with If-Match a 409 is a lost version race, below), or no database connection free:
    // nothing was written, and later it will likely work.
    if (isLostIndexRace(e) && (status >= 500 || !conditionalOnVersion)) {
      log().warn('fhir store busy', { action, status, elapsedMs, race: true });
      return unavailable(
        'The FHIR store is busy with concurrent writes; nothing was written, try again',
        this.settings.retryAfterSeconds,
      );
    }
    if (isDatabaseUnavailable(status, data)) {
      log().warn('fhir store database unavailable', { action, status, elapsedMs });
      return unavailable(
        'The FHIR store cannot reach its database just now; try again',
        this.settings.retryAfterSeconds,
      );
    }
    if (status >= 500) {
      const upstreamUnavailable = status === 503 || status === 504;
      // 503/504: HAPI still starting or overloaded, expected to pass; anything else is a fault to look at.
      if (upstreamUnavailable) log().warn('fhir store unavailable', { action, status, elapsedMs });
      else log().error('fhir store error', { action, status, elapsedMs });
      return new AppError(
        upstreamUnavailable ? 503 : 502,
        {
          code: upstreamUnavailable ? 'transient' : 'exception',
          diagnostics: 'The FHIR store failed to process the request',
        },
        {
          retryAfterSeconds: upstreamUnavailable ? this.settings.retryAfterSeconds : undefined,
          reason: 'upstream-error',
        },
      );
    }
    let reason: StoreFailure = 'rejected';
    if (status === 404) reason = 'not-found';
    else if (status === 410) reason = 'gone';
    // HAPI answers a stale If-Match with 409; the spec says 412. Either way it is a lost race.
    else if (conditionalOnVersion && (status === 409 || status === 412)) reason = 'version-conflict';
    const issue = refusal(status, reason, what, outcome);
    // HAPI's text never reaches an answer; our log keeps which of its messages it was.
    log().info('fhir store refused', { action, status, reason, elapsedMs, hapi: hapiCodesForLog(outcome) });
    return new AppError(status, issue, { outcome, reason });
  }
}
