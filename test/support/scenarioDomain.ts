import { RIGHT_TO_HAVE_COHORTS, restrictionFor } from '../../src/domain/codes.js';
import type {
  BudgetHolder,
  Budget,
  CarePlanPcsp,
  NeedsAssessment,
  Organisation,
  PhbJourney,
  PhrConsent,
  PlanItem,
  RecoveryGoal,
  Representative,
  Review,
  SpendRequest,
  StaffMember,
} from '../../src/domain/model.js';
import { parseNhsNumber } from '../../src/domain/nhsNumber.js';
import type { Scenario } from './scenarios.js';

/** Every domain object a scenario implies, with ids derived from the scenario id. */
export interface ScenarioDomain {
  icb: Organisation;
  coordinator: StaffMember;
  holder: BudgetHolder;
  representative?: Representative;
  journey: PhbJourney;
  budget: Budget;
  needs?: NeedsAssessment;
  goals: RecoveryGoal[];
  plan: CarePlanPcsp;
  requests: SpendRequest[];
  reviews: Review[];
  consent?: PhrConsent;
}

const START = '2026-01-05';
const AT = '2026-01-05T10:00:00+00:00';

export function scenarioDomain(s: Scenario): ScenarioDomain {
  const id = (suffix: string): string => `${s.id}-${suffix}`;
  const goalId = (key: string): string => id(`goal-${key}`);
  const itemId = (key: string): string => id(`item-${key}`);
  const icb: Organisation = { id: id('icb'), name: 'Integrated care board', odsCode: 'QMF', kind: 'icb' };
  const coordinator: StaffMember = {
    id: id('cc'),
    name: 'Care coordinator',
    role: 'care-coordinator',
    organisationOds: 'RV1',
    team: 'recovery-team',
  };
  const holder: BudgetHolder = {
    id: id('person'),
    nhsNumber: parseNhsNumber(s.person.nhsNumber),
    name: s.person.name,
    birthDate: s.person.birthDate,
    ...(s.person.ethnicity ? { ethnicity: s.person.ethnicity } : {}),
  };
  const rightToHave = s.phb.rightToHave ?? RIGHT_TO_HAVE_COHORTS.includes(s.phb.cohort);
  const journey: PhbJourney = {
    id: id('journey'),
    budgetHolderId: holder.id,
    kind: s.phb.kind,
    cohort: s.phb.cohort,
    stage: 'planning',
    eligibility: {
      eligible: true,
      rightToHave,
      ...(s.phb.cluster !== undefined ? { cluster: s.phb.cluster } : {}),
      ...(s.phb.fastTrack ? { fastTrack: s.phb.fastTrack } : {}),
      decidedOn: START,
    },
    leadContactId: coordinator.id,
    managingOrganisationId: icb.id,
    start: START,
  };
  const split =
    s.phb.split ?? (s.phb.managementOption === 'mixed' ? {} : { [s.phb.managementOption]: s.phb.indicativeBudget });
  const budget: Budget = {
    id: id('budget'),
    journeyId: journey.id,
    budgetHolderId: holder.id,
    kind: s.phb.kind,
    cohort: s.phb.cohort,
    payorId: icb.id,
    indicative: s.phb.indicativeBudget,
    ...(s.phb.calculation ? { calculation: s.phb.calculation } : {}),
    ...(s.phb.calculationLines ? { calculationLines: s.phb.calculationLines } : {}),
    managementOption: s.phb.managementOption,
    split,
    period: { start: START },
    status: 'active',
  };
  const goals: RecoveryGoal[] = s.goals.map((g) => ({
    id: goalId(g.key),
    budgetHolderId: holder.id,
    text: g.text,
    lifecycle: 'active',
    start: START,
    notes: [],
  }));
  const items: PlanItem[] = (s.requests ?? []).map((r) => ({
    id: itemId(r.key),
    description: r.item,
    category: r.category,
    cost: r.amount,
    ...(r.provider ? { provider: r.provider } : {}),
    goalIds: r.goals.map(goalId),
    status: 'proposed',
  }));
  const plan: CarePlanPcsp = {
    id: id('plan'),
    journeyId: journey.id,
    budgetHolderId: holder.id,
    budgetId: budget.id,
    status: 'draft',
    title: 'My personalised care and support plan',
    ...(s.needs ? { aboutMe: s.needs.whatMattersToMe } : {}),
    goalIds: goals.map((g) => g.id),
    items,
    created: AT,
  };
  const requests: SpendRequest[] = (s.requests ?? []).map((r) => ({
    id: id(`request-${r.key}`),
    journeyId: journey.id,
    budgetHolderId: holder.id,
    planId: plan.id,
    itemId: itemId(r.key),
    amount: r.amount,
    category: r.category,
    submittedBy: coordinator.id,
    submitted: AT,
    requiredRoles: r.expectSignOff ?? [],
    decisions: [],
    status: restrictionFor(r.category) || r.expectRefused ? 'refused' : 'requested',
    ...(r.expectRefused
      ? {
          refusalReason: r.expectRefused,
          refusalAlternatives: 'Another way towards the same goal, agreed with the care coordinator.',
        }
      : {}),
  }));
  const reviews: Review[] = (s.reviews ?? []).map((r, i) => ({
    id: id(`review-${r.when}`),
    journeyId: journey.id,
    budgetHolderId: holder.id,
    point: r.when,
    completed: `2026-0${i + 2}-01T10:00:00+00:00`,
    ...(r.impact ? { impact: r.impact } : {}),
    goalProgress: Object.fromEntries(Object.entries(r.goalProgress ?? {}).map(([k, v]) => [goalId(k), v])),
  }));
  return {
    icb,
    coordinator,
    holder,
    ...(s.representative
      ? {
          representative: {
            id: id('rep'),
            budgetHolderId: holder.id,
            name: s.representative.name,
            relationship: s.representative.relationship,
            nominee: false,
          },
        }
      : {}),
    journey,
    budget,
    ...(s.needs
      ? {
          needs: {
            id: id('needs'),
            journeyId: journey.id,
            budgetHolderId: holder.id,
            whatMattersToMe: s.needs.whatMattersToMe,
            strengths: s.needs.strengths ?? [],
            completed: AT,
          },
        }
      : {}),
    goals,
    plan,
    requests,
    reviews,
    ...(s.sharing
      ? {
          consent: {
            id: id('consent'),
            budgetHolderId: holder.id,
            recipient: 'patient-knows-best',
            status: s.sharing.phrConsent ? 'active' : 'rejected',
            dateTime: AT,
          },
        }
      : {}),
  };
}
