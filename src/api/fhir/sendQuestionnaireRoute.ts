import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type {
  Bundle,
  BundleEntry,
  Identifier,
  OperationOutcomeIssue,
  Parameters,
  Patient,
  Provenance,
  Questionnaire,
  Reference,
} from 'fhir/r4.js';
import { currentAccess } from '../../auth/guard.js';
import { resourceIdParam } from '../../auth/compartment.js';
import { withNamedProvenance, withProvenance } from '../../audit/provenance.js';
import {
  collapseTargets,
  MAX_TARGETS,
  parseTarget,
  requestKey,
  targetKey,
  type Target,
} from '../../domain/questionnaireRequests.js';
import { CANONICAL_BASE, SYSTEMS } from '../../fhir/common.js';
import { readParameters, type ReadParameter } from '../../fhir/parameters.js';
import * as serviceRequest from '../../fhir/serviceRequest.js';
import { badRequest } from '../../outcome/errors.js';
import type { FhirStore } from '../../store/fhirStore.js';
import { clientKeyWords, idempotencyKey, keyHeader, requestFingerprint } from '../idempotency.js';
import type { ProtectedRoute, RouteDeps } from '../route.js';
import { ID_PATTERN } from '../../domain/ids.js';

/**
 * `POST /fhir/Questionnaire/{id}/$send-questionnaire-request` with Patient Knows Best's
 * parameters (OperationDefinition profiles/operations/send-questionnaire-request.json). One
 * ServiceRequest per person, all written in one transaction with conditional creates, so a
 * retried call creates nothing twice. A target that is invalid, unknown, or not one of the
 * caller's team's patients is reported in `outcome` (the same words for unknown and not-yours,
 * so nothing leaks) and does not stop the others.
 */
export const OPERATION = 'send-questionnaire-request';
const DEFINITION = `${CANONICAL_BASE}/OperationDefinition/send-questionnaire-request`;

const SPECS = [
  { name: 'target', type: 'Reference', min: 1, max: MAX_TARGETS },
  { name: 'requestor', type: 'Reference', min: 0, max: 1 },
  { name: 'additionalIdentifier', type: 'Identifier', min: 0, max: 1 },
  { name: 'notificationFlag', type: 'boolean', min: 0, max: 1 },
  { name: 'amendableBy', type: 'string', min: 0, max: 1 },
] as const;

const PATIENT_LITERAL = /^(?:.*\/)?Patient\/([^/]+)$/;
const PRACTITIONER_LITERAL = new RegExp(String.raw`^Practitioner/(${ID_PATTERN})$`);
const CHECK_CONCURRENCY = 8;
const CHUNK = 100;

function targetOf(ref: Reference): Target | string {
  if (ref.reference !== undefined) {
    const id = PATIENT_LITERAL.exec(ref.reference)?.[1];
    return id === undefined ? 'the reference must be to a Patient' : parseTarget({ patientId: id });
  }
  if (ref.identifier?.system === SYSTEMS.nhsNumber && ref.identifier.value !== undefined)
    return parseTarget({ nhsNumber: ref.identifier.value });
  return parseTarget({});
}

/** Which of the targets are patients in HAPI, by id or NHS number: a few searches, not one per target. */
async function resolve(store: FhirStore, targets: Target[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const ids = targets.flatMap((t) => (t.kind === 'id' ? [t.id] : []));
  const numbers = targets.flatMap((t) => (t.kind === 'nhs-number' ? [t.nhsNumber] : []));
  const searches: Promise<void>[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    searches.push(
      store.search<Patient>('Patient', { _id: chunk.join(','), _elements: 'id', _count: CHUNK }).then((b) => {
        for (const e of b.entry ?? [])
          if (e.resource?.id) found.set(targetKey({ kind: 'id', id: e.resource.id }), e.resource.id);
      }),
    );
  }
  for (let i = 0; i < numbers.length; i += CHUNK) {
    const chunk = numbers.slice(i, i + CHUNK);
    searches.push(
      store
        .search<Patient>('Patient', {
          identifier: chunk.map((n) => `${SYSTEMS.nhsNumber}|${n}`).join(','),
          _elements: 'id,identifier',
          _count: CHUNK * 2,
        })
        .then((b) => {
          for (const e of b.entry ?? []) {
            const nhs = e.resource?.identifier?.find((x) => x.system === SYSTEMS.nhsNumber)?.value;
            if (nhs && e.resource?.id) found.set(targetKey({ kind: 'nhs-number', nhsNumber: nhs }), e.resource.id);
          }
        }),
    );
  }
  await Promise.all(searches);
  return found;
}

/** Runs `check` over the items a few at a time (each check reads HAPI). */
async function limited<T, R>(items: T[], check: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CHECK_CONCURRENCY, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await check(items[i] as T);
      }
    }),
  );
  return results;
}

function idFromLocation(location: string | undefined): string | undefined {
  return /^(?:.*\/)?ServiceRequest\/([^/]+)/.exec(location ?? '')?.[1];
}

/**
 * One transaction of conditional creates, one ServiceRequest per person. Under an
 * Idempotency-Key the key is taken first (one of several simultaneous requests writes; the
 * others replay from the write's Provenance, or are told to retry) and completed in the same
 * transaction; without one, the conditional creates alone keep a retry from creating twice.
 */
async function sendRequests(
  store: FhirStore,
  req: Request,
  deps: RouteDeps,
  questionnaireId: string,
  allowed: string[],
  options: { requestorId: string | undefined; additional: Identifier | undefined },
): Promise<{ requests: Reference[]; replayed: boolean }> {
  const { caller } = currentAccess();
  const rawKey = keyHeader(req.get('idempotency-key'), false);
  const { additional, requestorId } = options;
  const clientKey = additional ? `${additional.system}|${additional.value}` : (rawKey ?? '');
  const key = rawKey !== undefined ? idempotencyKey(caller, `${OPERATION} ${questionnaireId}`, rawKey) : undefined;
  const words = clientKeyWords(rawKey ?? '');
  const admission = key
    ? await deps.idempotency.admit(key.identifier.value ?? '', words, requestFingerprint(req.body, undefined))
    : undefined;
  if (key && admission?.kind === 'replay') {
    const earlier = await store.readIfExists<Provenance>('Provenance', key.provenanceId);
    const requests = (earlier?.target ?? [])
      .filter((t) => t.reference?.startsWith('ServiceRequest/'))
      .map((t) => ({ reference: t.reference?.replace(/\/_history\/.*$/, '') }));
    return { requests, replayed: true };
  }
  const authored = new Date().toISOString();
  const entries: BundleEntry[] = allowed.map((patientId) => {
    const requestKeyValue = requestKey(questionnaireId, patientId, clientKey);
    const { id: _unused, ...resource } = serviceRequest.withRequestKey(
      serviceRequest.toFhir({
        id: '',
        budgetHolderId: patientId,
        questionnaire: questionnaireId,
        status: 'active',
        authored,
        ...(requestorId !== undefined ? { requestedBy: requestorId } : {}),
      }),
      requestKeyValue,
      additional,
    );
    return {
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource,
      request: { method: 'POST', url: 'ServiceRequest', ifNoneExist: serviceRequest.openRequestQuery(requestKeyValue) },
    };
  });
  const transaction: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: entries };
  let result: Bundle;
  if (key && admission?.kind === 'execute') {
    const named = withNamedProvenance(transaction, caller, 'CREATE', key.provenanceId);
    try {
      result = await store.transaction({
        ...named,
        entry: [...(named.entry ?? []), deps.idempotency.completionEntry(admission.hold)],
      });
    } catch (e) {
      throw await deps.idempotency.afterFailure(admission.hold, e, words);
    }
  } else {
    result = await store.transaction(withProvenance(transaction, caller, 'CREATE'));
  }
  const requests = (result.entry ?? []).slice(0, entries.length).flatMap((e) => {
    const id = e.resource?.resourceType === 'ServiceRequest' ? e.resource.id : idFromLocation(e.response?.location);
    return id ? [{ reference: `ServiceRequest/${id}` }] : [];
  });
  return { requests, replayed: false };
}

export const SEND_QUESTIONNAIRE_ROUTE: ProtectedRoute = {
  face: 'fhir',
  method: 'post',
  path: `/Questionnaire/:id/$${OPERATION}`,
  resource: 'ServiceRequest',
  interaction: 'create',
  operation: { name: OPERATION, definition: DEFINITION, type: 'Questionnaire' },
  reachPerPatient: true,
  // No `id` for the audit: the path names the Questionnaire, not a ServiceRequest.
  patient: () => undefined,
  urlFor: () => `/fhir/Questionnaire/phb-impact/$${OPERATION}`,
  bodyFor: (patientId) => ({
    resourceType: 'Parameters',
    parameter: [{ name: 'target', valueReference: { reference: `Patient/${patientId}` } }],
  }),
  handle: async (store, req, res, deps) => {
    const access = currentAccess();
    // Checked before anything is read or written: a malformed key is the caller's mistake.
    keyHeader(req.get('idempotency-key'), false);
    const questionnaireId = resourceIdParam(req.params.id);
    const input = readParameters(req.body, SPECS);
    const one = <T>(name: string): ReadParameter<T & ReadParameter['value']> | undefined =>
      input.get(name)?.[0] as ReadParameter<T & ReadParameter['value']> | undefined;
    const requestor = one<Reference>('requestor');
    const requestorId = requestor ? PRACTITIONER_LITERAL.exec(requestor.value.reference ?? '')?.[1] : undefined;
    if (requestor && requestorId === undefined)
      throw badRequest('requestor must be a Practitioner reference (Practitioner/<id>)', requestor.at);
    const additional = one<Identifier>('additionalIdentifier')?.value;
    if (additional && (!additional.system || !additional.value))
      throw badRequest('additionalIdentifier needs system and value', one('additionalIdentifier')?.at);

    const questionnaire = await store.read<Questionnaire>('Questionnaire', questionnaireId);
    const given = input.get('target') ?? [];
    const { targets, problems } = collapseTargets(given.map((t) => targetOf(t.value as Reference)));
    const issues: OperationOutcomeIssue[] = problems.map((p) => ({
      severity: 'error',
      code: 'invalid',
      diagnostics: `target ${p.index + 1}: ${p.reason}`,
      expression: [given[p.index]?.at ?? 'Parameters'],
    }));

    const resolved = await resolve(
      store,
      targets.map((t) => t.target),
    );
    const unknown = (index: number): OperationOutcomeIssue => ({
      severity: 'error',
      code: 'not-found',
      diagnostics: `target ${index + 1}: no patient known to this service for this caller`,
      expression: [given[index]?.at ?? 'Parameters'],
    });
    // Two targets (by id and by NHS number) may be the same person: ask once.
    const people = new Map<string, number>();
    for (const { target, index } of targets) {
      const patientId = resolved.get(targetKey(target));
      if (patientId === undefined) issues.push(unknown(index));
      else if (!people.has(patientId)) people.set(patientId, index);
    }
    const candidates = [...people.entries()];
    const decisions = await limited(candidates, ([patientId]) => access.decide('ServiceRequest', 'create', patientId));
    const allowed: string[] = [];
    candidates.forEach(([patientId, index], i) => {
      const decision = decisions[i];
      access.audit(
        patientId,
        decision?.allowed ? 'success' : 'denied',
        decision && !decision.allowed ? decision.reason : undefined,
      );
      if (decision?.allowed) allowed.push(patientId);
      else issues.push(unknown(index));
    });

    const sent =
      allowed.length > 0
        ? await sendRequests(store, req, deps, questionnaire.id ?? questionnaireId, allowed, {
            requestorId,
            additional,
          })
        : undefined;
    const requests = sent?.requests ?? [];
    if (sent?.replayed) res.setHeader('Idempotent-Replayed', 'true');
    const output: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        ...requests.map((valueReference) => ({ name: 'request', valueReference })),
        ...(issues.length
          ? [{ name: 'outcome', resource: { resourceType: 'OperationOutcome' as const, issue: issues } }]
          : []),
      ],
    };
    res.type('application/fhir+json').json(output);
  },
};
