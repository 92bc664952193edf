import type { Provenance } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import type { WriteActivity } from '../../audit/provenance.js';
import type { Caller } from '../../auth/caller.js';
import { currentAccess } from '../../auth/guard.js';
import { resourceIdParam } from '../../auth/compartment.js';
import type { Interaction } from '../../auth/scopes.js';
import { DomainError } from '../../domain/errors.js';
import { AppError, badRequest } from '../../outcome/errors.js';
import type { FhirStore } from '../../store/fhirStore.js';
import type { ProtectedRoute, RouteDeps } from '../route.js';
import { clientKeyWords, idempotencyKey, keyHeader, requestFingerprint, type IdempotencyKey } from '../idempotency.js';
import { etagVersion, weakEtag } from '../../util/etag.js';
import { exampleId } from '../route.js';
import { checkResponse, validateBody } from './validation.js';
import { commit, type Committed, type Tx } from '../tx.js';

/**
 * The /api/v1 route shape and the one place that turns HTTP into calls and results into
 * responses: content type, body and response validation, Idempotency-Key, If-Match, and
 * domain rule violations as 422 problems pointing into the body.
 */
export type ApiDeps = RouteDeps;

export interface Ctx {
  store: FhirStore;
  req: Request;
  deps: ApiDeps;
  caller: Caller;
  /** The person (Patient id) the path names; the guard has checked the caller may act for them. Empty on service routes. */
  holderId: string;
  /** The version the client read (If-Match), if it sent one. */
  ifMatch?: string;
  /** A write's Idempotency-Key, scoped to the caller and route (absent on reads). */
  key?: IdempotencyKey;
  /** When the request arrived: the default time of whatever it records. */
  now: string;
  param(name: string): string;
}

export interface Result {
  status: number;
  body: unknown;
  /** Version of the resource the response is about, sent as the ETag. */
  version?: string;
}

/** What a write route does: the transaction, and which of its entries the response is about. */
export interface Write {
  tx: Tx;
  /** Index (in the transaction) of the entry the response presents. */
  primary: number;
}

interface Common {
  path: string;
  /**
   * `person` routes name the person in the path (`:holderId`) and the guard checks the caller's
   * reach to them; a `service` route (a referral of someone new) names nobody yet, so the guard
   * checks the role and scopes and the handler asks the guard about any existing person.
   */
  scope?: 'person' | 'service';
  resource: string;
  interaction: Interaction;
  summary: string;
  tag: string;
  response: string;
  /** A request body for the OpenAPI document. */
  example?: unknown;
  /** The example URL names no record this route can serve (see ProtectedRoute.exampleRefused). */
  exampleRefused?: boolean;
}

export interface ReadRoute extends Common {
  method: 'get';
  run(ctx: Ctx): Promise<Result>;
}

export interface WriteRoute<B = unknown> extends Common {
  method: 'post';
  request: string;
  status: 200 | 201;
  activity: WriteActivity;
  /** Which resource If-Match refers to, for the documentation. */
  ifMatch?: string;
  write(ctx: Ctx, body: B): Promise<Write>;
  /** The response for the entry `ref` (`Type/id`): after the write, and again on a replay. */
  present(ctx: Ctx, ref: string): Promise<Result>;
}

export type ApiRoute = ReadRoute | WriteRoute<never>;

const JSON_TYPE = /^application\/(?:[a-z.+-]+\+)?json$/;

function ifMatchOf(req: Request): string | undefined {
  const header = req.get('if-match');
  if (header === undefined) return undefined;
  const version = etagVersion(header);
  if (version === undefined)
    throw badRequest('If-Match must be an ETag such as W/"3", as sent with the record', undefined);
  return version;
}

/** The stored version must be the one the client read, or someone else's change came first. */
export function expectVersion(ctx: Ctx, current: string): string {
  if (ctx.ifMatch !== undefined && ctx.ifMatch !== current) {
    throw new AppError(
      409,
      {
        code: 'conflict',
        diagnostics: `The record is at version ${current}, not ${ctx.ifMatch}: read it again and retry`,
      },
      { reason: 'version-conflict' },
    );
  }
  return ctx.ifMatch ?? current;
}

/** Whether a JSON pointer names something in the body (or a field of an object in it). */
function pointsInto(body: unknown, pointer: string): boolean {
  if (!pointer.startsWith('/')) return false;
  let current: unknown = body;
  const tokens = pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (const [i, token] of tokens.entries()) {
    if (current === null || typeof current !== 'object') return false;
    if (!(token in current)) return i === tokens.length - 1;
    current = (current as Record<string, unknown>)[token];
  }
  return true;
}

/** A broken PHB rule is 422 (a malformed one 400), pointing at the body field when it names one. */
export function asProblem(e: unknown, body: unknown): unknown {
  if (!(e instanceof DomainError)) return e;
  const pointer = pointsInto(body, e.field) ? e.field : undefined;
  return new AppError(422, {
    code: e.kind === 'business-rule' ? 'business-rule' : 'invalid',
    diagnostics: e.message,
    ...(pointer !== undefined ? { location: pointer } : {}),
  });
}

function send(res: Response, route: Common, result: Result, replayed = false): void {
  checkResponse(route.response, result.body);
  if (result.version) res.setHeader('ETag', weakEtag(result.version));
  if (replayed) res.setHeader('Idempotent-Replayed', 'true');
  res.status(result.status).json(result.body);
}

function context(store: FhirStore, req: Request, deps: ApiDeps, scope: Common['scope']): Ctx {
  const access = currentAccess();
  const holderId = scope === 'service' ? '' : resourceIdParam(req.params.holderId, '/holderId');
  const ifMatch = ifMatchOf(req);
  return {
    store,
    req,
    deps,
    caller: access.caller,
    holderId,
    now: new Date().toISOString(),
    ...(ifMatch !== undefined ? { ifMatch } : {}),
    param: (name) => resourceIdParam(req.params[name], name),
  };
}

function existingWrite(store: FhirStore, key: IdempotencyKey): Promise<Provenance | undefined> {
  return store.readIfExists<Provenance>('Provenance', key.provenanceId);
}

/** The answer to a request whose key's earlier request completed: that request's result, as it is now. */
async function replay(route: WriteRoute<never>, ctx: Ctx, res: Response, key: IdempotencyKey): Promise<void> {
  const ref = (await existingWrite(ctx.store, key))?.target[0]?.reference;
  if (!ref) throw new AppError(500, { code: 'exception', diagnostics: 'The earlier write left no target' });
  send(res, route, await route.present(ctx, ref.replace(/\/_history\/.*$/, '')), true);
}

/**
 * Runs a write route: checks the body, takes the Idempotency-Key (or replays the request that
 * holds it), writes one transaction that also marks the key completed, and presents the result.
 */
async function handleWrite(
  route: WriteRoute<never>,
  store: FhirStore,
  req: Request,
  res: Response,
  deps: ApiDeps,
): Promise<void> {
  if (!JSON_TYPE.test((req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '')) {
    throw new AppError(415, { code: 'not-supported', diagnostics: 'Send the body as application/json' });
  }
  const rawKey = keyHeader(req.get('idempotency-key'), true) ?? '';
  const ctx = context(store, req, deps, route.scope);
  // The key is the caller's, for this route and this person: the same key elsewhere is another request.
  const key = idempotencyKey(ctx.caller, `${route.method} ${route.path} ${ctx.holderId} ${req.path}`, rawKey);
  ctx.key = key;
  // Checked before any replay: a retry is the same request, so a malformed one is refused as such.
  const body = validateBody<never>(route.request, req.body);
  const words = clientKeyWords(rawKey);
  const admission = await deps.idempotency.admit(
    key.identifier.value ?? '',
    words,
    requestFingerprint(req.body, ctx.ifMatch),
  );
  if (admission.kind === 'replay') {
    await replay(route, ctx, res, key);
    return;
  }
  let committed: Committed;
  let primary: number;
  try {
    const write = await route.write(ctx, body);
    primary = write.primary;
    committed = await commit(
      store,
      write.tx,
      primary,
      ctx.caller,
      route.activity,
      key,
      deps.idempotency.completionEntry(admission.hold),
    );
  } catch (e) {
    throw asProblem(await deps.idempotency.afterFailure(admission.hold, e, words), req.body);
  }
  const target = committed.refs[primary];
  if (!target) throw new AppError(500, { code: 'exception', diagnostics: 'The write has no primary entry' });
  send(res, route, await route.present(ctx, target.ref));
}

/** The route as a row of the protected-route table (guarded by its permission, audited). */
export function protectedRoute(route: ApiRoute): ProtectedRoute {
  const service = route.scope === 'service';
  return {
    face: 'api',
    method: route.method,
    path: route.path,
    resource: route.resource,
    interaction: route.interaction,
    patient: (req) => (service ? undefined : resourceIdParam(req.params.holderId, '/holderId')),
    ...(service ? { reachPerPatient: true } : {}),
    // The example journey is the one the shared test records use; other ids name nothing.
    urlFor: (patientId) =>
      `/api${route.path
        .replace(':holderId', patientId)
        .replace(':journeyId', exampleId('EpisodeOfCare', patientId))
        .replace(/:([A-Za-z]+)/g, 'no-such-$1')}`,
    // An empty body: the guard's answer is what an example shows; a real body would write.
    ...(route.method === 'post' ? { bodyFor: () => ({}), exampleRefused: true } : {}),
    ...(route.method === 'get' && route.exampleRefused ? { exampleRefused: true } : {}),
    handle: async (store, req, res, deps) => {
      if (route.method === 'post') {
        await handleWrite(route, store, req, res, deps);
        return;
      }
      const ctx = context(store, req, deps, route.scope);
      try {
        send(res, route, await route.run(ctx));
      } catch (e) {
        throw asProblem(e, undefined);
      }
    },
  };
}
