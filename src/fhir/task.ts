import type { Extension, Task } from 'fhir/r4.js';
import {
  DECISION_OUTCOMES,
  SIGN_OFF_ROLES,
  SPEND_CATEGORIES,
  SPEND_REQUEST_STATUSES,
  isCode,
  type SpendRequestStatus,
} from '../domain/codes.js';
import { DomainError } from '../domain/errors.js';
import type { SignOffDecision, SpendAppeal, SpendRequest } from '../domain/model.js';
import {
  codeFrom,
  coding,
  concept,
  extension,
  findExtension,
  findExtensions,
  money,
  pence,
  reference,
  referencedId,
  SYSTEMS,
} from './common.js';
import { journeyExtension, journeyFrom, part } from './extensionValues.js';
import { opt, required } from './fields.js';

/**
 * SpendRequest <-> sign-off Task (profile phb-signoff-task); mappings/sign-off.md is the table.
 * Decisions are recorded on this Task; per-member sub-Tasks (partOf this one) are created by
 * the sign-off workflow when it hands work to each signer, and are not part of this mapping.
 */
export const PROFILE = SYSTEMS.profile('phb-signoff-task');

const _statusesMatch: readonly SpendRequest['status'][] = SPEND_REQUEST_STATUSES;
type _NoMissingStatus = Exclude<SpendRequest['status'], SpendRequestStatus> extends never ? true : never;
const _noMissingStatus: _NoMissingStatus = true;

/** FHIR's task lifecycle, derived; the request's own status travels in businessStatus. */
const TASK_STATUS: Record<SpendRequestStatus, Task['status']> = {
  requested: 'requested',
  approved: 'completed',
  declined: 'completed',
  refused: 'rejected',
  appealed: 'in-progress',
  cancelled: 'cancelled',
};

export function toFhir(request: SpendRequest): Task & { id: string } {
  const extensions: Extension[] = [
    journeyExtension(request.journeyId),
    extension('phb-plan-item', { valueString: request.itemId }),
    extension('phb-request-amount', { valueMoney: money(request.amount) }),
    extension('phb-activity-category', { valueCodeableConcept: concept('spend-category', request.category) }),
    ...request.decisions.map((d) => decisionToFhir(d)),
    // Appeals keep the rounds they set aside: those decisions carry the appeal's round number.
    ...(request.appeals ?? []).flatMap((a, k) => [
      appealToFhir(a),
      ...a.decisions.map((d) => decisionToFhir(d, k + 1)),
    ]),
  ];
  if (request.refusalAlternatives !== undefined)
    extensions.push(extension('phb-decision-alternatives', { valueString: request.refusalAlternatives }));
  if (request.paidOn !== undefined) extensions.push(extension('phb-paid-on', { valueDateTime: request.paidOn }));
  return {
    resourceType: 'Task',
    id: request.id,
    meta: { profile: [PROFILE] },
    extension: extensions,
    status: TASK_STATUS[request.status],
    ...(request.refusalReason !== undefined ? { statusReason: { text: request.refusalReason } } : {}),
    businessStatus: concept('spend-request-status', request.status),
    intent: 'order',
    code: concept('phb-task-type', 'spend-sign-off'),
    focus: reference('CarePlan', request.planId),
    for: reference('Patient', request.budgetHolderId),
    authoredOn: request.submitted,
    requester: reference('Practitioner', request.submittedBy),
    ...(request.requiredRoles.length > 0
      ? { performerType: request.requiredRoles.map((role) => concept('staff-role', role)) }
      : {}),
  };
}

export function fromFhir(task: Task): SpendRequest {
  const ext = task.extension;
  const code = task.code?.coding?.find((c) => c.system === SYSTEMS.codeSystem('phb-task-type'))?.code;
  if (code !== 'spend-sign-off')
    throw new DomainError('Task.code', 'Task.code must be spend-sign-off from the phb-task-type code system');
  const status = codeFrom(task.businessStatus, 'spend-request-status', SPEND_REQUEST_STATUSES, 'Task.businessStatus');
  const paidOn = findExtension(ext, 'phb-paid-on');
  return {
    id: required(task.id, 'Task.id'),
    journeyId: journeyFrom(ext, 'Task'),
    budgetHolderId: referencedId(task.for, 'Patient', 'Task.for'),
    planId: referencedId(task.focus, 'CarePlan', 'Task.focus'),
    itemId: required(findExtension(ext, 'phb-plan-item')?.valueString, 'Task.extension:planItem'),
    amount: pence(findExtension(ext, 'phb-request-amount')?.valueMoney, 'Task.extension:amount'),
    category: codeFrom(
      findExtension(ext, 'phb-activity-category')?.valueCodeableConcept,
      'spend-category',
      SPEND_CATEGORIES,
      'Task.extension:category',
    ),
    submittedBy: referencedId(task.requester, 'Practitioner', 'Task.requester'),
    submitted: required(task.authoredOn, 'Task.authoredOn'),
    requiredRoles: (task.performerType ?? []).map((c, i) =>
      codeFrom(c, 'staff-role', SIGN_OFF_ROLES, `Task.performerType[${i}]`),
    ),
    ...decisionsAndAppeals(ext),
    status,
    ...opt('refusalReason', task.statusReason?.text),
    ...opt('refusalAlternatives', findExtension(ext, 'phb-decision-alternatives')?.valueString),
    ...opt('paidOn', paidOn && required(paidOn.valueDateTime, 'Task.extension:paidOn')),
  };
}

function appealToFhir(appeal: SpendAppeal): Extension {
  return extension('phb-sign-off-appeal', {
    extension: [
      { url: 'appealedBy', valueString: appeal.appealedBy },
      { url: 'time', valueDateTime: appeal.time },
      { url: 'reason', valueString: appeal.reason },
    ],
  });
}

/** The current round's decisions, and each appeal with the decisions of the round it set aside. */
function decisionsAndAppeals(ext: Extension[] | undefined): Pick<SpendRequest, 'decisions' | 'appeals'> {
  const rounds = findExtensions(ext, 'phb-sign-off-decision').map((e, i) => ({
    round: part(e, 'round')?.valuePositiveInt,
    decision: decisionFromFhir(e, i),
  }));
  const appeals = findExtensions(ext, 'phb-sign-off-appeal').map((e, k): SpendAppeal => {
    const field = `Task.extension:appeal[${k}]`;
    return {
      appealedBy: required(part(e, 'appealedBy')?.valueString, `${field}.appealedBy`),
      time: required(part(e, 'time')?.valueDateTime, `${field}.time`),
      reason: required(part(e, 'reason')?.valueString, `${field}.reason`),
      decisions: rounds.filter((r) => r.round === k + 1).map((r) => r.decision),
    };
  });
  const orphan = rounds.find((r) => r.round !== undefined && r.round > appeals.length);
  if (orphan)
    throw new DomainError(
      'Task.extension:decision.round',
      `Task.extension:decision.round ${orphan.round} names an appeal the Task does not hold`,
    );
  return {
    decisions: rounds.filter((r) => r.round === undefined).map((r) => r.decision),
    ...(appeals.length > 0 ? { appeals } : {}),
  };
}

function decisionToFhir(decision: SignOffDecision, round?: number): Extension {
  return extension('phb-sign-off-decision', {
    extension: [
      { url: 'role', valueCoding: coding('staff-role', decision.role) },
      { url: 'decidedBy', valueReference: reference('Practitioner', decision.decidedBy) },
      { url: 'outcome', valueCode: decision.outcome },
      { url: 'time', valueDateTime: decision.time },
      { url: 'rationale', valueString: decision.rationale },
      ...(decision.alternatives !== undefined ? [{ url: 'alternatives', valueString: decision.alternatives }] : []),
      ...(round !== undefined ? [{ url: 'round', valuePositiveInt: round }] : []),
    ],
  });
}

function decisionFromFhir(ext: Extension, i: number): SignOffDecision {
  const field = `Task.extension:decision[${i}]`;
  const role = part(ext, 'role')?.valueCoding;
  const outcome = part(ext, 'outcome')?.valueCode;
  if (!isCode(DECISION_OUTCOMES, outcome))
    throw new DomainError(`${field}.outcome`, `${field}.outcome must be approve or decline`);
  return {
    role: codeFrom(role ? [role] : undefined, 'staff-role', SIGN_OFF_ROLES, `${field}.role`),
    decidedBy: referencedId(part(ext, 'decidedBy')?.valueReference, 'Practitioner', `${field}.decidedBy`),
    outcome,
    time: required(part(ext, 'time')?.valueDateTime, `${field}.time`),
    rationale: required(part(ext, 'rationale')?.valueString, `${field}.rationale`),
    ...opt('alternatives', part(ext, 'alternatives')?.valueString),
  };
}
