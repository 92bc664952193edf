import { DECISION_OUTCOMES, SIGN_OFF_ROLES, isCode, type PhbKind, type SignOffRole } from '../codes.js';
import { DomainError } from '../errors.js';
import type { IsoDateTime, SignOffDecision, SpendAppeal, SpendRequest } from '../model.js';
import type { SignOffPolicy } from './policy.js';
import { requiredSigners } from './signers.js';
import { instantMs } from './time.js';

/** What a submitter gives; the policy adds who must sign (or the refusal). */
export type NewSpendRequest = Pick<
  SpendRequest,
  'id' | 'journeyId' | 'budgetHolderId' | 'planId' | 'itemId' | 'amount' | 'category' | 'submittedBy' | 'submitted'
> & { kind: PhbKind };

/** A request starts awaiting its signers, or refused at once with the reason (no one signs a refusal). */
export function submitRequest(policy: SignOffPolicy, input: NewSpendRequest): SpendRequest {
  instantMs(input.submitted, '/submitted');
  requireText(input.submittedBy, '/submittedBy');
  const { kind, ...fields } = input;
  const requirement = requiredSigners(policy, { amount: input.amount, category: input.category, kind });
  if (requirement.outcome === 'refused') {
    return {
      ...fields,
      requiredRoles: [],
      decisions: [],
      status: 'refused',
      refusalReason: requirement.reason,
      refusalAlternatives: requirement.alternatives,
    };
  }
  return { ...fields, requiredRoles: requirement.roles, decisions: [], status: 'requested' };
}

const OPEN: readonly SpendRequest['status'][] = ['requested', 'appealed'];

/**
 * One signer's decision. The rules, in the order a person would hit them: the request must be
 * open; the decision must be complete (a decline with alternatives); the submitter never signs;
 * the role must be one still owed; one person signs once (so a co-sign is two people); and, where
 * the policy says so, someone who declined does not hear the appeal. Any decline ends the round;
 * the request is approved once every required role has approved.
 *
 * That the person really holds `role` is checked by the caller's authorisation, not here.
 */
export function recordDecision(request: SpendRequest, decision: SignOffDecision, policy: SignOffPolicy): SpendRequest {
  if (!OPEN.includes(request.status)) {
    throw new DomainError('', `the request is ${request.status}; it takes no more decisions`, 'business-rule');
  }
  const checked = checkDecision(decision, request);

  if (checked.decidedBy === request.submittedBy) {
    throw new DomainError('/decidedBy', '/decidedBy: nobody signs off a request they submitted', 'business-rule');
  }
  if (!request.requiredRoles.includes(checked.role)) {
    throw new DomainError(
      '/role',
      `/role: this request needs ${listRoles(request.requiredRoles)}, not the ${label(checked.role)}`,
      'business-rule',
    );
  }
  const earlier = request.decisions.find((d) => d.role === checked.role);
  if (earlier) {
    throw new DomainError(
      '/role',
      `/role: the ${label(checked.role)} has already decided (${earlier.outcome}, ${earlier.time})`,
      'business-rule',
    );
  }
  if (request.decisions.some((d) => d.decidedBy === checked.decidedBy)) {
    throw new DomainError(
      '/decidedBy',
      '/decidedBy: this person has already decided in another role; each signer must be a different person',
      'business-rule',
    );
  }
  if (policy.appeals?.decliningSignersStandAside && request.status === 'appealed') {
    const underAppeal = request.appeals?.at(-1)?.decisions ?? [];
    if (underAppeal.some((d) => d.outcome === 'decline' && d.decidedBy === checked.decidedBy)) {
      throw new DomainError(
        '/decidedBy',
        '/decidedBy: this person declined the request under appeal; under this policy someone else decides the appeal',
        'business-rule',
      );
    }
  }

  const decisions = [...request.decisions, checked];
  const declined = checked.outcome === 'decline';
  const approved = request.requiredRoles.every((role) =>
    decisions.some((d) => d.role === role && d.outcome === 'approve'),
  );
  return { ...request, decisions, status: declined ? 'declined' : approved ? 'approved' : request.status };
}

/** What an appeal carries. */
export interface AppealInput {
  appealedBy: string;
  time: IsoDateTime;
  reason: string;
}

/**
 * Reopens a declined request: the declined round moves into `appeals` with the reason, and the
 * same roles decide afresh.
 */
export function appealDecline(request: SpendRequest, input: AppealInput): SpendRequest {
  if (request.status !== 'declined') {
    throw new DomainError(
      '',
      `only a declined request can be appealed; this one is ${request.status}`,
      'business-rule',
    );
  }
  const appealedBy = requireText(input.appealedBy, '/appealedBy');
  const reason = requireText(input.reason, '/reason');
  const time = notBefore(input.time, '/time', lastDecisionTime(request), 'the decline');
  const appeal: SpendAppeal = { appealedBy, time, reason, decisions: request.decisions };
  return { ...request, status: 'appealed', decisions: [], appeals: [...(request.appeals ?? []), appeal] };
}

/** Records when approved spend was paid: the end of request-to-payment time. */
export function recordPayment(request: SpendRequest, paidOn: IsoDateTime): SpendRequest {
  if (request.status !== 'approved') {
    throw new DomainError('', `only an approved request can be paid; this one is ${request.status}`, 'business-rule');
  }
  if (request.paidOn !== undefined)
    throw new DomainError('/paidOn', `/paidOn: the request was already paid on ${request.paidOn}`, 'business-rule');
  return { ...request, paidOn: notBefore(paidOn, '/paidOn', lastDecisionTime(request), 'the approval') };
}

/** The time of the latest decision in the current round, if any. */
export function lastDecisionTime(request: Pick<SpendRequest, 'decisions'>): IsoDateTime | undefined {
  let latest: { time: IsoDateTime; ms: number } | undefined;
  for (const d of request.decisions) {
    const ms = Date.parse(d.time);
    if (!latest || ms > latest.ms) latest = { time: d.time, ms };
  }
  return latest?.time;
}

function checkDecision(decision: SignOffDecision, request: SpendRequest): SignOffDecision {
  const decidedBy = requireText(decision.decidedBy, '/decidedBy');
  if (!isCode(SIGN_OFF_ROLES, decision.role))
    throw new DomainError('/role', `/role: not a sign-off role (one of ${SIGN_OFF_ROLES.join(', ')})`);
  if (!isCode(DECISION_OUTCOMES, decision.outcome))
    throw new DomainError('/outcome', '/outcome: must be approve or decline');
  const after = request.status === 'appealed' ? request.appeals?.at(-1)?.time : request.submitted;
  const time = notBefore(
    decision.time,
    '/time',
    after,
    request.status === 'appealed' ? 'the appeal' : 'the request was submitted',
  );
  const rationale = requireText(decision.rationale, '/rationale');
  if (decision.outcome === 'decline') {
    // A decline must leave the person somewhere to go: what else could meet the same goal.
    const alternatives = requireText(decision.alternatives, '/alternatives', 'a decline must offer alternatives');
    return { role: decision.role, decidedBy, outcome: 'decline', time, rationale, alternatives };
  }
  return {
    role: decision.role,
    decidedBy,
    outcome: 'approve',
    time,
    rationale,
    ...(decision.alternatives !== undefined && decision.alternatives.trim() !== ''
      ? { alternatives: decision.alternatives.trim() }
      : {}),
  };
}

function requireText(value: unknown, field: string, why = 'is required'): string {
  if (typeof value !== 'string' || value.trim() === '') throw new DomainError(field, `${field}: ${why}`);
  return value.trim();
}

function notBefore(value: unknown, field: string, earliest: IsoDateTime | undefined, what: string): IsoDateTime {
  const ms = instantMs(value, field);
  if (earliest !== undefined && ms < Date.parse(earliest)) {
    throw new DomainError(field, `${field}: ${String(value)} is before ${what} (${earliest})`);
  }
  return value as IsoDateTime;
}

const ROLE_LABELS: Record<SignOffRole, string> = {
  'care-coordinator': 'care coordinator',
  'team-lead': 'team lead',
  'phb-lead-clinician': 'PHB lead clinician',
  'lived-experience-reviewer': 'lived experience reviewer',
  commissioner: 'commissioner',
};

function label(role: SignOffRole): string {
  return ROLE_LABELS[role];
}

function listRoles(roles: readonly SignOffRole[]): string {
  const names = roles.map(label);
  return names.length <= 1 ? (names[0] ?? 'no signers') : `${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''}`;
}
