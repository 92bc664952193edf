import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Request } from 'express';
import type {
  Bundle,
  BundleEntry,
  CareTeam,
  Identifier,
  OperationOutcomeIssue,
  Organization,
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
import { repoRoot } from '../../config/config.js';
import { operationSpecs } from '../../conformance/operations.js';
import { isCode, QUESTIONNAIRE_AMENDABLE_BY, type QuestionnaireAmendableBy } from '../../domain/codes.js';
import { isId } from '../../domain/ids.js';
import { resourcesOf } from '../../fhir/bundle.js';
import { CANONICAL_BASE, SYSTEMS } from '../../fhir/common.js';
import { readParameters, type ReadParameter } from '../../fhir/parameters.js';
import { TEAM_SYSTEM } from '../../fhir/practitioner.js';
import * as serviceRequest from '../../fhir/serviceRequest.js';
import { AppError, badRequest, forbidden } from '../../outcome/errors.js';
import type { FhirStore } from '../../store/fhirStore.js';
import { clientKeyWords, idempotencyKey, keyHeader, requestFingerprint } from '../idempotency.js';
import type { ProtectedRoute, RouteDeps } from '../route.js';
import { ID_PATTERN } from '../../domain/ids.js';

/**
 * `POST /fhir/Questionnaire/{id}/$send-questionnaire-request` with Patient Knows Best's
 * parameters, simple and advanced sets alike; they are read as the OperationDefinition
 * (profiles/operations/send-questionnaire-request.json) declares them. One ServiceRequest per
 * person, all written in one transaction with conditional creates, so a retried call creates
 * nothing twice. A person who is invalid, unknown, or not one the caller may reach is reported in
 * `outcome` (the same words for unknown and not-yours, so nothing leaks) and does not stop the
 * others. A team (Organization) as the target asks everyone active on its caseload.
 */
export const OPERATION = 'send-questionnaire-request';
const DEFINITION = `${CANONICAL_BASE}/OperationDefinition/send-questionnaire-request`;

const SPECS = operationSpecs(path.join(repoRoot, 'profiles'), OPERATION);

const PATIENT_LITERAL = /^(?:.*\/)?Patient\/([^/]+)$/;
const ORGANIZATION_LITERAL = /^(?:.*\/)?Organization\/([^/]+)$/;
const PRACTITIONER_LITERAL = new RegExp(String.raw`^Practitioner/(${ID_PATTERN})$`);
const CHECK_CONCURRENCY = 8;
const CHUNK = 100;

/** A whole team as the target: an Organization by id, or the team's identifier. */
type TeamTarget = { kind: 'team'; organizationId: string } | { kind: 'team'; team: string };

function teamTargetOf(ref: Reference): TeamTarget | undefined {
  const id = ORGANIZATION_LITERAL.exec(ref.reference ?? '')?.[1];
  if (id !== undefined) return { kind: 'team', organizationId: id };
  if (ref.reference === undefined && (ref.type === 'Organization' || ref.identifier?.system === TEAM_SYSTEM))
    return { kind: 'team', team: ref.identifier?.value ?? '' };
  return undefined;
}

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

const unprocessable = (diagnostics: string, at: string): AppError =>
  new AppError(422, { code: 'business-rule', diagnostics, location: at });

/** The team code a team target names: the Organization's team identifier, or the identifier given. */
async function teamOf(store: FhirStore, target: TeamTarget, at: string): Promise<string> {
  if ('team' in target) {
    if (!isId(target.team))
      throw badRequest(`target: a team is named by an identifier in ${TEAM_SYSTEM} with a team code as value`, at);
    return target.team;
  }
  if (!isId(target.organizationId)) throw badRequest('target: the Organization id is not a valid id', at);
  const organization = await store.readIfExists<Organization>('Organization', target.organizationId);
  const team = organization?.identifier?.find((i) => i.system === TEAM_SYSTEM)?.value;
  if (team === undefined)
    throw unprocessable(
      `target Organization/${target.organizationId} is not a team known to this service (an Organization with an identifier in ${TEAM_SYSTEM})`,
      at,
    );
  return team;
}

/**
 * Everyone on a team's caseload (the subjects of its active CareTeams) who can be asked: as PKB
 * leaves out deceased people, so do we, and people whose record is inactive. More than a call's
 * 500 is refused, so nobody is left out without being told.
 */
async function caseload(store: FhirStore, team: string, at: string): Promise<Target[]> {
  const subjects = new Set<string>();
  for (let offset = 0; ; offset += CHUNK) {
    const page = await store.search<CareTeam>('CareTeam', {
      identifier: `${TEAM_SYSTEM}|${team}`,
      status: 'active',
      _elements: 'subject',
      _sort: '_id',
      _count: CHUNK,
      _offset: offset,
    });
    const found = resourcesOf<CareTeam>(page, 'CareTeam');
    for (const t of found) {
      const id = PATIENT_LITERAL.exec(t.subject?.reference ?? '')?.[1];
      if (id !== undefined) subjects.add(id);
    }
    if (subjects.size > MAX_TARGETS)
      throw unprocessable(
        `target: team ${team} has more than ${MAX_TARGETS} people on its caseload; name them as Patient targets, at most ${MAX_TARGETS} a call`,
        at,
      );
    if (found.length < CHUNK) break;
  }
  const ids = [...subjects];
  const askable: Target[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const page = await store.search<Patient>('Patient', {
      _id: ids.slice(i, i + CHUNK).join(','),
      _elements: 'id,active,deceased',
      _count: CHUNK,
    });
    for (const p of resourcesOf<Patient>(page, 'Patient'))
      if (p.id && p.active !== false && !p.deceasedBoolean && p.deceasedDateTime === undefined)
        askable.push({ kind: 'id', id: p.id });
  }
  return askable;
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
  options: {
    requestorId: string | undefined;
    additional: Identifier | undefined;
    amendableBy: QuestionnaireAmendableBy[];
  },
): Promise<{ requests: Reference[]; replayed: boolean }> {
  const { caller } = currentAccess();
  const rawKey = keyHeader(req.get('idempotency-key'), false);
  const { additional, requestorId, amendableBy } = options;
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
        ...(amendableBy.length > 0 ? { amendableBy } : {}),
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

/** The team the request comes from: teamId, or PKB's x-team-id header; the two must agree. */
function teamOfRequest(req: Request, teamId: ReadParameter<string> | undefined): string | undefined {
  const header = req.get('x-team-id');
  if (teamId !== undefined && !isId(teamId.value))
    throw badRequest(`teamId must be a team code (letters, digits, "-" and ".") in ${TEAM_SYSTEM}`, teamId.at);
  if (header !== undefined && !isId(header))
    throw badRequest(`The x-team-id header must be a team code (letters, digits, "-" and ".")`, 'x-team-id');
  if (teamId !== undefined && header !== undefined && teamId.value !== header)
    throw badRequest('teamId and the x-team-id header name different teams', teamId.at);
  return teamId?.value ?? header;
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
    const amendable = input.get('amendableBy') ?? [];
    const amendableBy = amendable.flatMap((a) => (isCode(QUESTIONNAIRE_AMENDABLE_BY, a.value) ? [a.value] : []));
    if (new Set(amendableBy).size < amendableBy.length)
      throw badRequest('amendableBy names the same code twice', amendable[amendableBy.length - 1]?.at);
    const { caller } = access;
    // A system client registered for a single team may leave it out; one acting for several must say which.
    const onlyTeam = caller.kind === 'system' && caller.teams.length === 1 ? caller.teams[0] : undefined;
    const team = teamOfRequest(req, one<string>('teamId')) ?? onlyTeam;
    if (caller.kind === 'system' && team === undefined)
      throw new AppError(400, {
        code: 'required',
        diagnostics:
          'Parameter teamId (or the x-team-id header) is required: this system client acts for several teams, or none',
        location: 'Parameters',
      });

    const questionnaire = await store.read<Questionnaire>('Questionnaire', questionnaireId);
    const given = input.get('target') ?? [];
    const teamTargets = given.flatMap((t, i) => {
      const teamTarget = teamTargetOf(t.value as Reference);
      return teamTarget ? [{ teamTarget, at: t.at, index: i }] : [];
    });
    // As in PKB: several people, or one whole team, not both in one call.
    if (teamTargets.length > 0 && given.length > 1)
      throw badRequest('target: a team (Organization) must be the only target', teamTargets[0]?.at);
    const wholeTeam = teamTargets[0];
    const targetTeam = wholeTeam ? await teamOf(store, wholeTeam.teamTarget, wholeTeam.at) : undefined;
    if (targetTeam !== undefined && team !== undefined && team !== targetTeam)
      throw badRequest(`target names team ${targetTeam} but teamId names team ${team}`, wholeTeam?.at);
    const sendingFor = team ?? targetTeam;
    const { targets, problems } = wholeTeam
      ? {
          targets: (await caseload(store, targetTeam ?? '', wholeTeam.at)).map((target) => ({ target, index: 0 })),
          problems: [],
        }
      : collapseTargets(given.map((t) => targetOf(t.value as Reference)));
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
    const decisions = await limited(candidates, ([patientId]) =>
      access.decide('ServiceRequest', 'create', patientId, sendingFor),
    );
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
    // A team nobody on whose caseload the caller may reach is a team it may not send for.
    if (wholeTeam && candidates.length > 0 && allowed.length === 0)
      throw forbidden(`The caller may not send questionnaires for team ${targetTeam ?? ''}`);
    if (wholeTeam && candidates.length === 0)
      issues.push({
        severity: 'warning',
        code: 'not-found',
        diagnostics: `target 1: team ${targetTeam ?? ''} has nobody on its caseload to ask`,
        expression: [wholeTeam.at],
      });

    const sent =
      allowed.length > 0
        ? await sendRequests(store, req, deps, questionnaire.id ?? questionnaireId, allowed, {
            requestorId,
            additional,
            amendableBy,
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
