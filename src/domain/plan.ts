import { checkManagementSplit, checkPlanWithinBudget } from './budget.js';
import type { GoalAchievement } from './codes.js';
import { DomainError } from './errors.js';
import type {
  Budget,
  CarePlanPcsp,
  IsoDate,
  ManagementSplit,
  PlanItem,
  RecoveryGoal,
  Review,
  SpendRequest,
} from './model.js';
import { requirePence, type Pence } from './money.js';

/**
 * The plan (step 4) and what happens to it afterwards: agreement against the budget, items
 * following their spend requests, and changes made at reviews (step 6).
 */

/** Each item costs whole pence, serves goals of this plan, and is paid through an option the budget holds; errors name the items by `at`, their JSON pointer in the request. */
export function checkPlanItems(
  plan: Pick<CarePlanPcsp, 'items' | 'goalIds'>,
  budget: Pick<Budget, 'split'>,
  at = '/items',
): void {
  const seen = new Set<string>();
  plan.items.forEach((item, i) => {
    requirePence(item.cost, `${at}/${i}/cost`);
    if (seen.has(item.id)) throw new DomainError(`${at}/${i}/id`, `${at}/${i}/id: two items have the id ${item.id}`);
    seen.add(item.id);
    item.goalIds.forEach((g, j) => {
      if (!plan.goalIds.includes(g))
        throw new DomainError(`${at}/${i}/goals/${j}`, `${at}/${i}/goals/${j}: not a goal of this plan`);
    });
    if (item.managementOption !== undefined && budget.split[item.managementOption] === undefined) {
      throw new DomainError(
        `${at}/${i}/managementOption`,
        `${at}/${i}/managementOption: the budget holds nothing as ${item.managementOption}`,
        'business-rule',
      );
    }
  });
}

export interface AgreeInput {
  agreedOn: IsoDate;
  /** The agreed budget; absent means the indicative amount. */
  agreed?: Pence;
  /** Needed when the agreed amount differs from the indicative, so the split still adds up. */
  split?: ManagementSplit;
}

/**
 * Agreeing the plan with the person: its items must fit the agreed budget (DESIGN section 4),
 * and the money's split must add up to it. The plan becomes active and the budget agreed.
 */
export function agreePlan(
  plan: CarePlanPcsp,
  budget: Budget,
  input: AgreeInput,
): { plan: CarePlanPcsp; budget: Budget } {
  if (plan.status !== 'draft')
    throw new DomainError('', `the plan is ${plan.status}; only a draft plan is agreed`, 'business-rule');
  const agreed =
    input.agreed === undefined ? (budget.agreed ?? budget.indicative) : requirePence(input.agreed, '/agreed');
  const revised: Budget = { ...budget, agreed, split: input.split ?? budget.split, status: 'active' };
  checkManagementSplit(revised);
  checkPlanWithinBudget(plan, revised);
  if (input.agreedOn < plan.created.slice(0, 10))
    throw new DomainError('/agreedOn', `/agreedOn: before the plan was made (${plan.created})`);
  return { plan: { ...plan, status: 'active', agreedOn: input.agreedOn }, budget: revised };
}

/** An item may have one open request at a time, and only a proposed (or, for a resubmission, declined) item is asked for. */
export function checkItemRequestable(plan: CarePlanPcsp, itemId: string, requests: readonly SpendRequest[]): PlanItem {
  if (plan.status !== 'draft' && plan.status !== 'active')
    throw new DomainError('', `the plan is ${plan.status}; it takes no requests`, 'business-rule');
  const item = plan.items.find((i) => i.id === itemId);
  if (!item) throw new DomainError('/itemId', '/itemId: no such item in the plan');
  const open = requests.find(
    (r) => r.itemId === itemId && (r.status === 'requested' || r.status === 'appealed' || r.status === 'approved'),
  );
  if (open)
    throw new DomainError('/itemId', `/itemId: the item already has a request that is ${open.status}`, 'business-rule');
  return item;
}

/** An item follows its request: approved, declined (or refused), and proposed again while an appeal is heard. */
export function withItemStatus(plan: CarePlanPcsp, request: SpendRequest): CarePlanPcsp {
  const status: PlanItem['status'] | undefined =
    request.status === 'approved'
      ? 'approved'
      : request.status === 'declined' || request.status === 'refused'
        ? 'declined'
        : request.status === 'appealed'
          ? 'proposed'
          : undefined;
  if (status === undefined) return plan;
  return { ...plan, items: plan.items.map((i) => (i.id === request.itemId ? { ...i, status } : i)) };
}

export interface PlanChanges {
  addItems?: PlanItem[];
  cancelItemIds?: string[];
  nextReview?: IsoDate;
}

export interface BudgetChange {
  agreed: Pence;
  managementOption?: Budget['managementOption'];
  split: ManagementSplit;
  calculation?: string;
}

/**
 * A review may change the plan and the budget together; the plan must still fit the budget and
 * the split must add up, or neither changes.
 */
export function reviseAtReview(
  plan: CarePlanPcsp,
  budget: Budget,
  changes: { plan?: PlanChanges; budget?: BudgetChange },
): { plan: CarePlanPcsp; budget: Budget } {
  let nextBudget = budget;
  if (changes.budget) {
    const c = changes.budget;
    nextBudget = {
      ...budget,
      agreed: requirePence(c.agreed, '/budgetChange/agreed'),
      split: c.split,
      managementOption: c.managementOption ?? budget.managementOption,
      ...(c.calculation !== undefined ? { calculation: c.calculation } : {}),
    };
    checkManagementSplit(nextBudget, '/budgetChange/split');
  }
  let nextPlan = plan;
  if (changes.plan) {
    const cancel = new Set(changes.plan.cancelItemIds ?? []);
    (changes.plan.cancelItemIds ?? []).forEach((id, i) => {
      if (!plan.items.some((item) => item.id === id))
        throw new DomainError(
          `/planChanges/cancelItemIds/${i}`,
          `/planChanges/cancelItemIds/${i}: no such item in the plan`,
        );
    });
    nextPlan = {
      ...plan,
      items: [
        ...plan.items.map((i) => (cancel.has(i.id) ? { ...i, status: 'cancelled' as const } : i)),
        ...(changes.plan.addItems ?? []),
      ],
      ...(changes.plan.nextReview !== undefined ? { nextReview: changes.plan.nextReview } : {}),
    };
    checkPlanItems({ items: changes.plan.addItems ?? [], goalIds: plan.goalIds }, nextBudget, '/planChanges/addItems');
    const ids = new Set<string>();
    for (const item of nextPlan.items) {
      if (ids.has(item.id))
        throw new DomainError(
          '/planChanges/addItems',
          `/planChanges/addItems: the plan already has an item ${item.id}`,
        );
      ids.add(item.id);
    }
  }
  if (nextPlan.status === 'active') checkPlanWithinBudget(nextPlan, nextBudget);
  return { plan: nextPlan, budget: nextBudget };
}

/**
 * A review point happens once (start, midpoint, end), except reviews on the person's request,
 * which may happen any time; goal progress is about goals of this plan.
 */
export function checkReview(
  review: Pick<Review, 'point' | 'goalProgress'>,
  earlier: readonly Pick<Review, 'point'>[],
  plan: CarePlanPcsp,
): void {
  if (review.point !== 'on-request' && earlier.some((r) => r.point === review.point)) {
    throw new DomainError('/point', `/point: the ${review.point} review has already taken place`, 'business-rule');
  }
  for (const goalId of Object.keys(review.goalProgress)) {
    if (!plan.goalIds.includes(goalId))
      throw new DomainError(`/goalProgress/${goalId}`, `/goalProgress/${goalId}: not a goal of this plan`);
  }
}

/** A goal's achievement as of a review: an achieved goal is completed, any other progress keeps it active. */
export function withProgress(goal: RecoveryGoal, achievement: GoalAchievement): RecoveryGoal {
  return {
    ...goal,
    achievement,
    lifecycle: achievement === 'achieved' ? 'completed' : goal.lifecycle === 'proposed' ? 'active' : goal.lifecycle,
  };
}
