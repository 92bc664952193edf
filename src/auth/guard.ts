import type { FhirResource } from 'fhir/r4.js';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { beforeAnswer, currentRequestId, RequestSlot } from '../context/requestContext.js';
import { AppError, forbidden, notFound } from '../outcome/errors.js';
import type { AccessAudit, AccessRecord } from './access.js';
import { callerFromClaims, type Caller, type CallerSettings } from './caller.js';
import { authorize, grantAndScope, NO_CONSENT, patientInScope, type AccessFacts, type Decision } from './authorize.js';
import { DeferredConsent } from './deferredConsent.js';
import type { Interaction } from './scopes.js';
import { bearerChallenge, bearerToken, type TokenVerifier } from './verify.js';

export interface AuthDeps {
  verifier: TokenVerifier;
  callers: CallerSettings;
  facts: AccessFacts;
  audit: AccessAudit;
}

export interface RouteAccessOptions {
  /** The patient the request names (path id, `patient` parameter); patient callers default to their own. */
  patient?: (req: Request) => string | undefined;
  /** The resource id the request names, for the audit record. */
  id?: (req: Request) => string | undefined;
  /**
   * Authorize after read: once the token is verified, reads the record the request names and
   * gives it with its patient (the handler finds it as `Access.record`). A record outside the
   * caller's reach then answers 404 like a missing one, so ids of other people's records cannot
   * be probed.
   */
  resolvePatient?: (req: Request) => Promise<ReadForAccess>;
  /** An operation on several patients: the guard checks the role and scopes; the handler checks each patient with `decide`. */
  reachPerPatient?: boolean;
  /**
   * The route's own search brings the patient's Consents: the guard checks everything else now
   * and the consent when the route hands them over (`Access.settleConsent`). Until then no
   * successful answer leaves (an unsettled one becomes 500).
   */
  consentInRecords?: boolean;
}

/** What `resolvePatient` read: the record the request names and its patient (none: served to nobody). */
export interface ReadForAccess {
  record: FhirResource;
  patientId: string | undefined;
}

/** What a guarded handler may rely on: who is calling and whose data the request was allowed to touch. */
export interface Access {
  caller: Caller;
  patientId?: string;
  /** The record the guard read to authorize the request (`resolvePatient`), so the handler does not read it twice. */
  record?: FhirResource;
  /** That record, of the type the route reads: 500 when the guard read none of it (a wiring bug). */
  recordRead<T extends FhirResource>(type: T['resourceType']): T;
  /** The full decision (row, scopes, reach) for this caller on another patient, for operations on several. */
  decide(resource: string, interaction: Interaction, patientId: string, team?: string): Promise<Decision>;
  /** Audits one patient's part of an operation on several patients. */
  audit(patientId: string, outcome: AccessRecord['outcome'], reason?: string): void;
  /**
   * Settles the consent check the guard left to the route (`consentInRecords`) with the records
   * its search returned: 403, as the guard would have answered, when no Consent among them lets
   * this app in. Does nothing when no check was left.
   */
  settleConsent(resources: readonly FhirResource[]): void;
}

/** What the guard leaves in the request context: the access it granted, and the consent check it left to the route. */
const GUARDED = new RequestSlot<{ access: Access; consent?: DeferredConsent }>('the access guard');

/** The access a guard granted to the current request; a route without a guard has none (500, a wiring bug). */
export function currentAccess(): Access {
  const guarded = GUARDED.get();
  if (!guarded) throw new AppError(500, { code: 'exception', diagnostics: 'The route has no access guard' });
  return guarded.access;
}

/**
 * The refusal of an answer about to leave with `status` (checked where answers end, the request
 * context's barrier in src/api/context.ts): a successful answer while the consent check the
 * guard left to the route is still unsettled (`consentInRecords`).
 */
export function unsettledConsentRefusal(status: number): AppError | undefined {
  return GUARDED.get()?.consent?.refusal(status);
}

function outcomeOf(status: number): AccessRecord['outcome'] {
  if (status < 400) return 'success';
  return status >= 500 ? 'failed' : 'denied';
}

/**
 * `requirePermission('Consent', 'search', { patient })`: authenticates the bearer token, asks the
 * permission table, and audits the request whatever happens (a refusal with its reason, the rest
 * with the outcome of the answer). The answer waits until its AuditEvent is durable (the request
 * context's barrier, src/api/context.ts).
 */
export function permissionGuard(
  auth: AuthDeps,
  {
    admit,
  }: {
    /** Admits a verified caller or throws (the per-caller rate limit); the refusal is audited like any other. */
    admit?: (caller: Caller) => void;
  } = {},
) {
  return function requirePermission(
    resource: string,
    interaction: Interaction,
    options: RouteAccessOptions = {},
  ): RequestHandler {
    return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      const base = { resource, interaction, requestId: currentRequestId() };
      let caller: Caller | undefined;
      let patientId: string | undefined;
      let resourceId: string | undefined;
      let record: FhirResource | undefined;
      // Why the request was refused after the guard let it through, for the record made when it finishes.
      let lateReason: string | undefined;
      const deferred = options.consentInRecords ? new DeferredConsent() : undefined;
      try {
        // Parameters first, so even a refused token is audited against the patient it asked for.
        resourceId = options.id?.(req);
        patientId = options.patient?.(req);
        const claims = await auth.verifier.verify(bearerToken(req.get('authorization')));
        caller = callerFromClaims(claims, auth.callers);
        admit?.(caller);
        // A caller the row refuses outright learns nothing about the record, so the row goes first.
        const roleDecision = grantAndScope(caller, resource, interaction);
        if (!roleDecision.allowed) throw refusal(roleDecision);
        if (options.resolvePatient) ({ record, patientId } = await options.resolvePatient(req));
        patientId = options.reachPerPatient ? undefined : patientInScope(caller, patientId);
        const decision = options.reachPerPatient
          ? roleDecision
          : await authorize(
              caller,
              { resource, interaction, ...(patientId !== undefined ? { patientId } : {}) },
              deferred?.over(auth.facts) ?? auth.facts,
            );
        if (!decision.allowed) {
          if (options.resolvePatient && decision.stage === 'reach')
            throw notFound(`${resource}/${resourceId ?? ''} is not known`);
          throw refusal(decision);
        }
      } catch (e) {
        const status = e instanceof AppError ? e.status : 500;
        const { durable } = auth.audit.record({
          ...base,
          ...(caller ? { caller } : {}),
          ...(patientId !== undefined ? { patientId } : {}),
          ...(resourceId !== undefined ? { resourceId } : {}),
          outcome: outcomeOf(status),
          ...(e instanceof AppError ? { reason: e.message } : {}),
          time: new Date().toISOString(),
        });
        beforeAnswer(() => durable);
        next(e);
        return;
      }
      const allowedCaller = caller;
      const access: Access = {
        caller: allowedCaller,
        ...(patientId !== undefined ? { patientId } : {}),
        ...(record ? { record } : {}),
        recordRead: <T extends FhirResource>(type: T['resourceType']): T => {
          if (record?.resourceType !== type)
            throw new AppError(500, { code: 'exception', diagnostics: `The guard read no ${type}` });
          // Narrowed by its resourceType: FhirResource is a union discriminated by it.
          return record as T;
        },
        decide: (r, i, p, team) =>
          authorize(
            allowedCaller,
            { resource: r, interaction: i, patientId: p, ...(team !== undefined ? { team } : {}) },
            auth.facts,
          ),
        audit: (p, outcome, reason) => {
          const { durable } = auth.audit.record({
            ...base,
            caller: allowedCaller,
            patientId: p,
            ...(resourceId !== undefined ? { resourceId } : {}),
            outcome,
            ...(reason ? { reason } : {}),
            time: new Date().toISOString(),
          });
          beforeAnswer(() => durable);
        },
        settleConsent: (resources) => {
          if (!deferred || deferred.settle(resources)) return;
          lateReason = NO_CONSENT.reason;
          throw refusal(NO_CONSENT);
        },
      };
      GUARDED.set({ access, ...(deferred?.isOwed ? { consent: deferred } : {}) });
      // Built when the answer is ready, so it records the answer's own status.
      beforeAnswer(() => {
        const reason = lateReason ?? (deferred?.wasWithheld ? 'The route did not settle the consent check' : undefined);
        return auth.audit.record({
          ...base,
          caller: allowedCaller,
          ...(patientId !== undefined ? { patientId } : {}),
          ...(resourceId !== undefined ? { resourceId } : {}),
          outcome: outcomeOf(res.statusCode),
          ...(reason ? { reason } : {}),
          time: new Date().toISOString(),
        }).durable;
      });
      next();
    };
  };
}

function refusal(decision: Decision): AppError {
  const missingScope = decision.allowed ? undefined : decision.missingScope;
  return forbidden(
    decision.allowed ? 'Refused' : decision.reason,
    missingScope ? { 'WWW-Authenticate': bearerChallenge('insufficient_scope', undefined, missingScope) } : undefined,
  );
}

export type RequirePermission = ReturnType<typeof permissionGuard>;
