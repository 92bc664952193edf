import { budgetPosition, type BudgetPosition } from './budget.js';

export { budgetPosition, type BudgetPosition };
import type {
  Budget,
  CarePlanPcsp,
  Payment,
  PhbJourney,
  QuestionnaireRequest,
  RecoveryGoal,
  SpendLine,
} from './model.js';
import type { SeriesTrend } from './scores.js';

/**
 * "My PHB" at a glance: the current journey, its plan, goals, money, open questionnaire
 * requests and score trends. Built from what the store holds; nothing here is stored.
 */

const CLOSED: readonly PhbJourney['stage'][] = ['closed', 'not-eligible'];

/** The journey the person is in now: an open one, latest start first; else the latest closed one. */
export function currentJourney(journeys: readonly PhbJourney[]): PhbJourney | undefined {
  const byStart = [...journeys].sort((a, b) => b.start.localeCompare(a.start) || a.id.localeCompare(b.id));
  return byStart.find((j) => !CLOSED.includes(j.stage)) ?? byStart[0];
}

const PLAN_ORDER: Record<CarePlanPcsp['status'], number> = { active: 0, draft: 1, completed: 2, revoked: 3 };

/** The plan that counts for a journey: the agreed (active) one, else the draft being worked on. */
export function currentPlan(plans: readonly CarePlanPcsp[], journeyId: string): CarePlanPcsp | undefined {
  return [...plans]
    .filter((p) => p.journeyId === journeyId)
    .sort((a, b) => PLAN_ORDER[a.status] - PLAN_ORDER[b.status] || b.created.localeCompare(a.created))[0];
}

export interface PhbSummary {
  budgetHolderId: string;
  journey?: PhbJourney;
  plan?: CarePlanPcsp;
  goals: RecoveryGoal[];
  budget?: Budget;
  position?: BudgetPosition;
  openRequests: QuestionnaireRequest[];
  trends: SeriesTrend[];
}

export interface SummaryInputs {
  budgetHolderId: string;
  journeys: readonly PhbJourney[];
  plans: readonly CarePlanPcsp[];
  goals: readonly RecoveryGoal[];
  budgets: readonly Budget[];
  payments: readonly Payment[];
  spend: readonly SpendLine[];
  requests: readonly QuestionnaireRequest[];
  trends: readonly SeriesTrend[];
}

/** Picks the current PHB out of everything the person's record holds. */
export function summarise(input: SummaryInputs): PhbSummary {
  const journey = currentJourney(input.journeys);
  const plan = journey ? currentPlan(input.plans, journey.id) : undefined;
  const budget = plan
    ? input.budgets.find((b) => b.id === plan.budgetId)
    : input.budgets.find((b) => b.journeyId === journey?.id);
  // The plan's goals, in the plan's order; without a plan, the person's open goals.
  const goals = plan
    ? plan.goalIds.flatMap((id) => input.goals.filter((g) => g.id === id))
    : input.goals.filter((g) => g.lifecycle === 'active' || g.lifecycle === 'accepted' || g.lifecycle === 'planned');
  return {
    budgetHolderId: input.budgetHolderId,
    ...(journey ? { journey } : {}),
    ...(plan ? { plan } : {}),
    goals,
    ...(budget
      ? {
          budget,
          position: budgetPosition(
            budget,
            input.payments.filter((p) => p.budgetId === budget.id),
            input.spend.filter((s) => s.budgetId === budget.id),
          ),
        }
      : {}),
    openRequests: input.requests
      .filter((r) => r.status === 'active')
      .sort((a, b) => a.authored.localeCompare(b.authored)),
    // Trends of this journey, and of answers given outside any journey.
    trends: input.trends.filter((t) => t.journeyId === undefined || t.journeyId === journey?.id),
  };
}
