import type { CarePlan, CarePlanActivity, Extension } from 'fhir/r4.js';
import { PLAN_ITEM_STATUSES, SPEND_CATEGORIES, isCode, type PlanItemStatus } from '../domain/codes.js';
import { DomainError } from '../domain/errors.js';
import type { CarePlanPcsp, PlanItem } from '../domain/model.js';
import {
  codeFrom,
  concept,
  extension,
  findExtension,
  money,
  pence,
  reference,
  referencedId,
  SYSTEMS,
} from './common.js';
import { managementOptionExtension, managementOptionFrom, MIXED } from './coverage.js';
import { journeyExtension, journeyFrom } from './extensionValues.js';
import { opt, required } from './fields.js';

/** CarePlanPcsp <-> CarePlan (profile phb-careplan); mappings/plan.md is the table. */
export const PROFILE = SYSTEMS.profile('phb-careplan');

// The domain's item status union and the plan-item-status code system must hold the same codes.
const _itemStatusesMatch: readonly PlanItem['status'][] = PLAN_ITEM_STATUSES;
type _NoMissingItemStatus = Exclude<PlanItem['status'], PlanItemStatus> extends never ? true : never;
const _noMissingItemStatus: _NoMissingItemStatus = true;

/** FHIR's activity lifecycle, derived from the item status (which travels in its own extension). */
const DETAIL_STATUS: Record<PlanItemStatus, NonNullable<CarePlanActivity['detail']>['status']> = {
  proposed: 'not-started',
  approved: 'scheduled',
  declined: 'cancelled',
  purchased: 'completed',
  cancelled: 'cancelled',
};

const PLAN_STATUSES = ['draft', 'active', 'completed', 'revoked'] as const;

export function toFhir(plan: CarePlanPcsp): CarePlan & { id: string } {
  const extensions: Extension[] = [journeyExtension(plan.journeyId)];
  if (plan.risks !== undefined) extensions.push(extension('phb-plan-risks', { valueString: plan.risks }));
  if (plan.contingency !== undefined)
    extensions.push(extension('phb-plan-contingency', { valueString: plan.contingency }));
  if (plan.nextReview !== undefined) extensions.push(extension('phb-next-review', { valueDate: plan.nextReview }));
  return {
    resourceType: 'CarePlan',
    id: plan.id,
    meta: { profile: [PROFILE] },
    extension: extensions,
    status: plan.status,
    intent: 'plan',
    title: plan.title,
    ...opt('description', plan.aboutMe),
    subject: reference('Patient', plan.budgetHolderId),
    ...(plan.agreedOn !== undefined ? { period: { start: plan.agreedOn } } : {}),
    created: plan.created,
    supportingInfo: [reference('Coverage', plan.budgetId)],
    ...(plan.goalIds.length > 0 ? { goal: plan.goalIds.map((id) => reference('Goal', id)) } : {}),
    ...(plan.items.length > 0 ? { activity: plan.items.map(activityToFhir) } : {}),
  };
}

export function fromFhir(carePlan: CarePlan): CarePlanPcsp {
  const ext = carePlan.extension;
  if (!isCode(PLAN_STATUSES, carePlan.status)) {
    throw new DomainError(
      'CarePlan.status',
      `CarePlan.status must be one of ${PLAN_STATUSES.join(', ')} (got ${carePlan.status})`,
    );
  }
  const budgets = carePlan.supportingInfo?.filter((r) => r.reference?.match(/(^|\/)Coverage\//)) ?? [];
  if (budgets.length !== 1)
    throw new DomainError(
      'CarePlan.supportingInfo',
      'CarePlan.supportingInfo must reference exactly one Coverage (the budget)',
    );
  return {
    id: required(carePlan.id, 'CarePlan.id'),
    journeyId: journeyFrom(ext, 'CarePlan'),
    budgetHolderId: referencedId(carePlan.subject, 'Patient', 'CarePlan.subject'),
    budgetId: referencedId(budgets[0], 'Coverage', 'CarePlan.supportingInfo'),
    status: carePlan.status,
    title: required(carePlan.title, 'CarePlan.title'),
    ...opt('aboutMe', carePlan.description),
    goalIds: (carePlan.goal ?? []).map((g, i) => referencedId(g, 'Goal', `CarePlan.goal[${i}]`)),
    items: (carePlan.activity ?? []).map(activityFromFhir),
    ...opt('risks', findExtension(ext, 'phb-plan-risks')?.valueString),
    ...opt('contingency', findExtension(ext, 'phb-plan-contingency')?.valueString),
    created: required(carePlan.created, 'CarePlan.created'),
    ...opt('agreedOn', carePlan.period?.start),
    ...opt('nextReview', findExtension(ext, 'phb-next-review')?.valueDate),
  };
}

function activityToFhir(item: PlanItem): CarePlanActivity {
  const extensions: Extension[] = [
    extension('phb-activity-cost', { valueMoney: money(item.cost) }),
    extension('phb-activity-category', { valueCodeableConcept: concept('spend-category', item.category) }),
    extension('phb-plan-item-status', { valueCode: item.status }),
  ];
  if (item.managementOption !== undefined) extensions.push(managementOptionExtension(item.managementOption));
  return {
    // The element id is the item id: spend requests name it, and it survives every update.
    id: item.id,
    detail: {
      extension: extensions,
      status: DETAIL_STATUS[item.status],
      ...(item.goalIds.length > 0 ? { goal: item.goalIds.map((id) => reference('Goal', id)) } : {}),
      // The provider may be a shop or trade rather than a known Organization, so it is a display.
      ...(item.provider !== undefined ? { performer: [{ display: item.provider }] } : {}),
      description: item.description,
    },
  };
}

function activityFromFhir(activity: CarePlanActivity, i: number): PlanItem {
  const field = `CarePlan.activity[${i}]`;
  const detail = activity.detail;
  if (!detail) throw new DomainError(`${field}.detail`, `${field}.detail is missing`);
  const ext = detail.extension;
  const status = findExtension(ext, 'phb-plan-item-status')?.valueCode;
  if (!isCode(PLAN_ITEM_STATUSES, status)) {
    throw new DomainError(
      `${field}.detail.extension:itemStatus`,
      `${field}.detail.extension:itemStatus must be one of ${PLAN_ITEM_STATUSES.join(', ')}`,
    );
  }
  const optionExt = findExtension(ext, 'phb-management-option');
  const option = optionExt && managementOptionFrom(optionExt, `${field}.detail.extension:managementOption`);
  if (option === MIXED)
    throw new DomainError(
      `${field}.detail.extension:managementOption`,
      'A plan item is paid through one management option, not a mix',
    );
  if ((detail.performer?.length ?? 0) > 1)
    throw new DomainError(`${field}.detail.performer`, `${field}.detail.performer must name at most one provider`);
  return {
    id: required(activity.id, `${field}.id`),
    description: required(detail.description, `${field}.detail.description`),
    category: codeFrom(
      findExtension(ext, 'phb-activity-category')?.valueCodeableConcept,
      'spend-category',
      SPEND_CATEGORIES,
      `${field}.detail.extension:category`,
    ),
    cost: pence(findExtension(ext, 'phb-activity-cost')?.valueMoney, `${field}.detail.extension:cost`),
    ...opt('provider', detail.performer?.[0]?.display),
    goalIds: (detail.goal ?? []).map((g, j) => referencedId(g, 'Goal', `${field}.detail.goal[${j}]`)),
    ...opt('managementOption', option),
    status,
  };
}
