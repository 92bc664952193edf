import type { CarePlan, Coverage, EpisodeOfCare, Goal, QuestionnaireResponse } from 'fhir/r4.js';
import { currentAccess } from '../../auth/guard.js';
import { checkCalculationLines, checkManagementSplit } from '../../domain/budget.js';
import type { GoalAchievement, ManagementOption, ReviewPoint, SpendCategory } from '../../domain/codes.js';
import { DomainError } from '../../domain/errors.js';
import { advance, requireReached } from '../../domain/journey.js';
import type {
  Budget,
  CalculationLine,
  CarePlanPcsp,
  ImpactAnswers,
  ManagementSplit,
  PlanItem,
  RecoveryGoal,
  Review,
  ReviewReflections,
} from '../../domain/model.js';
import {
  agreePlan,
  checkPlanItems,
  checkReview,
  reviseAtReview,
  withProgress,
  type BudgetChange,
} from '../../domain/plan.js';
import * as account from '../../fhir/account.js';
import * as careplan from '../../fhir/careplan.js';
import * as coverage from '../../fhir/coverage.js';
import * as episodeOfCare from '../../fhir/episodeOfCare.js';
import * as goal from '../../fhir/goal.js';
import * as observation from '../../fhir/observation.js';
import { numericAnswers } from '../../fhir/questionnaire.js';
import * as questionnaireResponse from '../../fhir/questionnaireResponse.js';
import { AppError, forbidden } from '../../outcome/errors.js';
import { scoresOf, type QuestionnaireScore } from '../../domain/scores.js';
import { catalogOf, rulesForScoring, scoredQuestionnaire } from '../questionnaires.js';
import { createKeyed, idOf, putKeyed } from './common.js';
import { expectVersion, type ApiRoute, type Ctx, type Result, type WriteRoute } from './http.js';
import { JOURNEY, records } from './journeyRoutes.js';
import { Tx, newId } from '../tx.js';
import { budgetView, goalView, planView } from './views.js';

/** Steps 3, 4 and 6: the money worked out, the plan agreed, and reviews that change them. */

const episode = (j: Parameters<typeof episodeOfCare.toFhir>[0]): EpisodeOfCare & { id: string } =>
  episodeOfCare.toFhir(j) as EpisodeOfCare & { id: string };

interface BudgetBody {
  indicative: number;
  calculation?: string;
  calculationLines?: CalculationLine[];
  contingency?: number;
  managementOption: Budget['managementOption'];
  split: ManagementSplit;
  start: string;
  end?: string;
}

const budgetRoute: WriteRoute<BudgetBody> = {
  method: 'post',
  path: `${JOURNEY}/budget`,
  resource: 'Coverage',
  interaction: 'create',
  tag: '3 Working out the money',
  summary:
    "Set the indicative budget: the amount, how it was calculated (in words, and optionally as lines that add up to it, with a personal assistant's employment on-costs each on a line of its own), and how it is held (one management option, or a mix with an amount each)",
  request: 'BudgetInput',
  response: 'Budget',
  status: 201,
  activity: 'CREATE',
  example: {
    indicative: 1250000,
    calculation: 'A personal assistant 10 hours a week, with the costs of employing them',
    calculationLines: [
      { kind: 'personal-assistant-pay', description: '10 hours a week at 1950 per hour for 52 weeks', amount: 1014000 },
      { kind: 'employer-national-insurance', amount: 60000 },
      { kind: 'employer-pension', amount: 30000 },
      { kind: 'training', amount: 25000 },
      { kind: 'employer-liability-insurance', amount: 15000 },
      { kind: 'payroll-service', amount: 20000 },
      { kind: 'contingency', amount: 86000 },
    ],
    managementOption: 'direct-payment',
    split: { 'direct-payment': 1250000 },
    start: '2026-01-05',
  },
  async write(ctx, body) {
    const set = await records(ctx).all(ctx.param('journeyId'));
    const journey = set.journey.value;
    requireReached(journey, 'eligible', 'an indicative budget');
    if (set.budget)
      throw new DomainError('', 'the journey already has a budget; change it at a review', 'business-rule');
    if (!journey.managingOrganisationId)
      throw new DomainError('', 'the journey names no organisation to pay for it', 'business-rule');
    const budget: Budget = {
      id: newId(),
      journeyId: journey.id,
      budgetHolderId: ctx.holderId,
      kind: journey.kind,
      cohort: journey.cohort,
      payorId: journey.managingOrganisationId,
      indicative: body.indicative,
      managementOption: body.managementOption,
      split: body.split,
      period: { start: body.start, ...(body.end !== undefined ? { end: body.end } : {}) },
      status: 'draft',
      ...(body.calculation !== undefined ? { calculation: body.calculation } : {}),
      ...(body.calculationLines !== undefined ? { calculationLines: body.calculationLines } : {}),
      ...(body.contingency !== undefined ? { contingency: body.contingency } : {}),
    };
    checkCalculationLines(budget);
    checkManagementSplit(budget);
    const tx = new Tx();
    // The ledger (Account) has the budget's id, so both are written at an id chosen here.
    const primary = putKeyed(tx, ctx, coverage.toFhir(budget));
    tx.put({ ...account.toFhir(account.accountFor(budget)), id: budget.id });
    const moved = advance(journey, 'budget-indicated');
    // Always touch the journey at the version read, so two budgets written at once cannot both stand.
    tx.update(episode(moved), set.journey.version);
    return { tx, primary };
  },
  async present(ctx, ref) {
    const stored = await ctx.store.read<Coverage>('Coverage', idOf(ref, 'Coverage'));
    const version = stored.meta?.versionId ?? '';
    return { status: 201, body: budgetView({ value: coverage.fromFhir(stored), version }), version };
  },
};

interface ItemBody {
  id: string;
  description: string;
  category: SpendCategory;
  cost: number;
  provider?: string;
  goals?: string[];
  managementOption?: ManagementOption;
}

interface PlanBody {
  title?: string;
  aboutMe?: string;
  goals: { key: string; text: string; target?: string }[];
  items: ItemBody[];
  risks?: string;
  contingency?: string;
  nextReview?: string;
  /** When the plan was written with the person; now unless given. */
  created?: string;
}

function itemOf(body: ItemBody, goalIdOf: (key: string, at: string) => string, at: string): PlanItem {
  return {
    id: body.id,
    description: body.description,
    category: body.category,
    cost: body.cost,
    goalIds: (body.goals ?? []).map((key, j) => goalIdOf(key, `${at}/goals/${j}`)),
    status: 'proposed',
    ...(body.provider !== undefined ? { provider: body.provider } : {}),
    ...(body.managementOption !== undefined ? { managementOption: body.managementOption } : {}),
  };
}

async function presentPlan(ctx: Ctx, planId: string, status: number): Promise<Result> {
  const stored = await ctx.store.read<CarePlan>('CarePlan', planId);
  const plan = careplan.fromFhir(stored);
  const goals = await Promise.all(
    plan.goalIds.map(async (id) => {
      const g = await ctx.store.read<Goal>('Goal', id);
      return goalView({ value: goal.fromFhir(g), version: g.meta?.versionId ?? '' });
    }),
  );
  const version = stored.meta?.versionId ?? '';
  return { status, body: { plan: planView({ value: plan, version }), goals }, version };
}

const planRoute: WriteRoute<PlanBody> = {
  method: 'post',
  path: `${JOURNEY}/plan`,
  resource: 'CarePlan',
  interaction: 'create',
  tag: '4 The plan',
  summary:
    "Write the personalised care and support plan: goals in the person's own words, and the items to buy with costs and providers",
  request: 'PlanInput',
  response: 'PlanView',
  status: 201,
  activity: 'CREATE',
  example: {
    goals: [{ key: 'g1', text: 'I want to finish my course.' }],
    items: [{ id: 'laptop', description: 'Laptop', category: 'it-equipment', cost: 42000, goals: ['g1'] }],
  },
  async write(ctx, body) {
    const set = await records(ctx).all(ctx.param('journeyId'));
    const journey = set.journey.value;
    requireReached(journey, 'budget-indicated', 'a plan');
    if (!set.budget) throw new DomainError('', 'the journey has no budget yet', 'business-rule');
    if (set.plan) throw new DomainError('', 'the journey already has a plan; change it at a review', 'business-rule');
    const tx = new Tx();
    const goals: RecoveryGoal[] = body.goals.map((g) => ({
      id: newId(),
      budgetHolderId: ctx.holderId,
      text: g.text,
      lifecycle: 'active',
      start: (body.created ?? ctx.now).slice(0, 10),
      notes: [],
      ...(g.target !== undefined ? { target: g.target } : {}),
    }));
    const byKey = new Map(body.goals.map((g, i) => [g.key, goals[i]?.id ?? '']));
    if (byKey.size !== goals.length) throw new DomainError('/goals', '/goals: each goal needs its own key');
    const goalIdOf = (key: string, at: string): string => {
      const id = byKey.get(key);
      if (id === undefined) throw new DomainError(at, `${at}: no goal with the key ${key} in this plan`);
      return id;
    };
    const plan: CarePlanPcsp = {
      id: newId(),
      journeyId: journey.id,
      budgetHolderId: ctx.holderId,
      budgetId: set.budget.value.id,
      status: 'draft',
      title: body.title ?? 'My personalised care and support plan',
      goalIds: goals.map((g) => g.id),
      items: body.items.map((item, i) => itemOf(item, goalIdOf, `/items/${i}`)),
      created: body.created ?? ctx.now,
      ...((body.aboutMe ?? set.needs?.whatMattersToMe) ? { aboutMe: body.aboutMe ?? set.needs?.whatMattersToMe } : {}),
      ...(body.risks !== undefined ? { risks: body.risks } : {}),
      ...(body.contingency !== undefined ? { contingency: body.contingency } : {}),
      ...(body.nextReview !== undefined ? { nextReview: body.nextReview } : {}),
    };
    checkPlanItems(plan, set.budget.value);
    goals.forEach((g, i) => createKeyed(tx, ctx, goal.toFhir(g), i + 1));
    const primary = createKeyed(tx, ctx, careplan.toFhir(plan));
    tx.update(episode(advance(journey, 'planning')), set.journey.version);
    return { tx, primary };
  },
  present: (ctx, ref) => presentPlan(ctx, idOf(ref, 'CarePlan'), 201),
};

const agreeRoute: WriteRoute<{ agreedOn: string; agreed?: number; split?: ManagementSplit }> = {
  method: 'post',
  path: `${JOURNEY}/plan/agreement`,
  resource: 'CarePlan',
  interaction: 'update',
  tag: '4 The plan',
  summary:
    'Agree the plan and the budget with the person; refused (422) when the items cost more than the agreed budget',
  request: 'PlanAgreementInput',
  response: 'PlanView',
  status: 200,
  activity: 'UPDATE',
  ifMatch: 'the plan',
  example: { agreedOn: '2026-01-10' },
  async write(ctx, body) {
    const set = await records(ctx).all(ctx.param('journeyId'));
    requireReached(set.journey.value, 'planning', 'agreeing the plan');
    if (!set.plan || !set.budget) throw new DomainError('', 'the journey has no plan yet', 'business-rule');
    const version = expectVersion(ctx, set.plan.version);
    const agreed = agreePlan(set.plan.value, set.budget.value, {
      agreedOn: body.agreedOn,
      ...(body.agreed !== undefined ? { agreed: body.agreed } : {}),
      ...(body.split ? { split: body.split } : {}),
    });
    const tx = new Tx();
    const primary = tx.update(careplan.toFhir(agreed.plan), version);
    tx.update(coverage.toFhir(agreed.budget), set.budget.version);
    // The ledger opens once the budget is agreed.
    tx.put({ ...account.toFhir(account.accountFor(agreed.budget)), id: agreed.budget.id });
    tx.update(episode(advance(set.journey.value, 'plan-agreed')), set.journey.version);
    return { tx, primary };
  },
  present: (ctx, ref) => presentPlan(ctx, idOf(ref, 'CarePlan'), 200),
};

interface ReviewBody {
  point: ReviewPoint;
  completed?: string;
  impact?: ImpactAnswers;
  goalProgress?: Record<string, GoalAchievement>;
  reflections?: ReviewReflections;
  planChanges?: { addItems?: ItemBody[]; cancelItemIds?: string[]; nextReview?: string };
  budgetChange?: BudgetChange;
}

const reviewRoute: WriteRoute<ReviewBody> = {
  method: 'post',
  path: `${JOURNEY}/reviews`,
  resource: 'QuestionnaireResponse',
  interaction: 'create',
  tag: '6 Monitoring and review',
  summary:
    "Record a review (start, midpoint, end, or on the person's request): impact answers, goal progress, and any change to the plan and budget, together",
  request: 'ReviewInput',
  response: 'Review',
  status: 201,
  activity: 'CREATE',
  example: { point: 'start', impact: { confidence: 2, connected: 2, progressTowardGoals: 1, wellbeing: 2 } },
  async write(ctx, body) {
    const set = await records(ctx).all(ctx.param('journeyId'));
    requireReached(set.journey.value, 'planning', 'a review');
    if (!set.plan || !set.budget) throw new DomainError('', 'the journey has no plan to review yet', 'business-rule');
    const review: Review = {
      id: newId(),
      journeyId: set.journey.value.id,
      budgetHolderId: ctx.holderId,
      point: body.point,
      completed: body.completed ?? ctx.now,
      goalProgress: body.goalProgress ?? {},
      ...(body.impact ? { impact: body.impact } : {}),
      ...(body.reflections ? { reflections: body.reflections } : {}),
    };
    checkReview(review, set.reviews, set.plan.value);
    const tx = new Tx();
    const answers = questionnaireResponse.reviewToFhir(review);
    const primary = createKeyed(tx, ctx, answers);
    for (const score of await scoresOfReview(ctx, answers, review)) tx.create(observation.toFhir(score));
    for (const [goalId, achievement] of Object.entries(review.goalProgress)) {
      const current = set.goals.find((g) => g.value.id === goalId);
      if (current) tx.update(goal.toFhir(withProgress(current.value, achievement)), current.version);
    }
    if (body.planChanges || body.budgetChange) {
      // Changing the plan or the money needs those permissions too, from the same table.
      const access = currentAccess();
      for (const [resource, wanted] of [
        ['CarePlan', body.planChanges],
        ['Coverage', body.budgetChange],
      ] as const) {
        if (!wanted) continue;
        const decision = await access.decide(resource, 'update', ctx.holderId);
        if (!decision.allowed) throw forbidden(decision.reason);
      }
      const goalIdOf = (id: string, at: string): string => {
        if (!set.plan?.value.goalIds.includes(id)) throw new DomainError(at, `${at}: not a goal of this plan`);
        return id;
      };
      const changes = {
        ...(body.planChanges
          ? {
              plan: {
                ...body.planChanges,
                addItems: (body.planChanges.addItems ?? []).map((item, i) =>
                  itemOf(item, goalIdOf, `/planChanges/addItems/${i}`),
                ),
              },
            }
          : {}),
        ...(body.budgetChange ? { budget: body.budgetChange } : {}),
      };
      const revised = reviseAtReview(set.plan.value, set.budget.value, changes);
      if (body.planChanges) tx.update(careplan.toFhir(revised.plan), set.plan.version);
      if (body.budgetChange) tx.update(coverage.toFhir(revised.budget), set.budget.version);
    }
    return { tx, primary };
  },
  async present(ctx, ref) {
    const stored = await ctx.store.read<QuestionnaireResponse>(
      'QuestionnaireResponse',
      idOf(ref, 'QuestionnaireResponse'),
    );
    return { status: 201, body: questionnaireResponse.reviewFromFhir(stored), version: stored.meta?.versionId ?? '' };
  },
};

/**
 * The score Observations a review's impact answers earn, by the review questionnaire's own scoring rules: the
 * same path as answers a PHR app sends (scoresOf), so staff-recorded reviews show in trends and documents too.
 */
async function scoresOfReview(ctx: Ctx, answers: QuestionnaireResponse, review: Review): Promise<QuestionnaireScore[]> {
  const canonical = answers.questionnaire ?? '';
  const questionnaire = await catalogOf(ctx.store).find(canonical);
  // The review questionnaire is one of this service's conformance resources, loaded at start-up.
  if (!questionnaire)
    throw new AppError(500, { code: 'exception', diagnostics: 'The review questionnaire is not loaded' });
  return scoresOf(
    rulesForScoring(questionnaire),
    numericAnswers(answers),
    {
      budgetHolderId: review.budgetHolderId,
      journeyId: review.journeyId,
      ...scoredQuestionnaire(questionnaire, canonical),
      time: review.completed,
      responseId: review.id,
    },
    newId,
  );
}

export const PLAN_ROUTES: ApiRoute[] = [
  budgetRoute as WriteRoute<never>,
  planRoute as WriteRoute<never>,
  agreeRoute as WriteRoute<never>,
  reviewRoute as WriteRoute<never>,
];
