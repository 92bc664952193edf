import type {
  Budget,
  CarePlanPcsp,
  NeedsAssessment,
  RecoveryGoal,
  Review,
  SpendRequest,
} from '../../src/domain/model.js';
import { loadScenarios } from './scenarios.js';
import { scenarioDomain } from './scenarioDomain.js';

/**
 * Plan-side domain objects that fill the optional fields the scenarios leave empty, so every
 * mapping table row is exercised. Ids are fixed; HAPI tests only $validate them (nothing stored).
 */
const journeyId = 'fx-journey';
const budgetHolderId = 'fx-person';
const AT = '2026-03-02T09:30:00+00:00';

export const fixtureBudgets: Budget[] = [
  {
    id: 'fx-budget-s117',
    journeyId,
    budgetHolderId,
    kind: 'ongoing',
    cohort: 'section-117-aftercare',
    payorId: 'fx-icb',
    indicative: 1250050,
    agreed: 1200000,
    calculation: 'Support worker 10 hours a week at 2300 per hour, plus 5% contingency',
    contingency: 60000,
    managementOption: 'managed-account',
    split: { 'managed-account': 1200000 },
    period: { start: '2026-04-01', end: '2027-03-31' },
    status: 'draft',
  },
  {
    id: 'fx-budget-mixed',
    journeyId,
    budgetHolderId,
    kind: 'ongoing',
    cohort: 'nhs-continuing-healthcare',
    payorId: 'fx-icb',
    indicative: 4000000,
    managementOption: 'mixed',
    split: { notional: 1000000, 'third-party': 1000000, 'direct-payment': 1500000, 'managed-account': 500000 },
    period: { start: '2026-04-01' },
    status: 'cancelled',
  },
  {
    id: 'fx-budget-undecided',
    journeyId,
    budgetHolderId,
    kind: 'one-off',
    cohort: 'carers',
    payorId: 'fx-icb',
    indicative: 50000,
    managementOption: 'mixed',
    split: {},
    period: { start: '2026-04-01' },
    status: 'draft',
  },
  {
    id: 'fx-budget-pa',
    journeyId,
    budgetHolderId,
    kind: 'ongoing',
    cohort: 'nhs-continuing-healthcare',
    payorId: 'fx-icb',
    indicative: 2600000,
    calculationLines: [
      { kind: 'personal-assistant-pay', description: '20 hours a week for 52 weeks', amount: 2000000 },
      { kind: 'employer-national-insurance', amount: 150000 },
      { kind: 'employer-pension', description: '3% of qualifying earnings', amount: 60000 },
      { kind: 'training', amount: 50000 },
      { kind: 'employer-liability-insurance', amount: 20000 },
      { kind: 'payroll-service', amount: 30000 },
      { kind: 'contingency', description: 'Cover for holiday and sickness', amount: 100000 },
      { kind: 'other-support', description: 'Hydrotherapy sessions', amount: 190000 },
    ],
    managementOption: 'direct-payment',
    split: { 'direct-payment': 2600000 },
    period: { start: '2026-04-01' },
    status: 'draft',
  },
];

export const fixtureGoals: RecoveryGoal[] = [
  {
    id: 'fx-goal-1',
    budgetHolderId,
    text: 'I want to walk to the shops on my own.',
    lifecycle: 'completed',
    achievement: 'achieved',
    start: '2026-01-05',
    target: '2026-06-30',
    notes: [
      { text: 'Walked halfway with my support worker.', time: '2026-02-01T10:00:00+00:00', author: 'Care coordinator' },
      { text: 'Made it there and back on my own!', time: '2026-05-20T16:45:00+01:00' },
    ],
  },
  {
    id: 'fx-goal-2',
    budgetHolderId,
    text: 'I want to cook a meal for my family.',
    lifecycle: 'proposed',
    start: '2026-01-05',
    notes: [],
    sourceIdentifiers: [{ system: 'https://ehr.example-trust.nhs.uk/Id/goal', value: 'G-1042' }],
  },
];

export const fixturePlans: CarePlanPcsp[] = [
  {
    id: 'fx-plan',
    journeyId,
    budgetHolderId,
    budgetId: 'fx-budget-mixed',
    status: 'active',
    title: 'My personalised care and support plan',
    aboutMe: 'Being outdoors and seeing my friends.',
    goalIds: ['fx-goal-1', 'fx-goal-2'],
    items: [
      {
        id: 'fx-item-pa',
        description: 'Personal assistant, 10 hours a week',
        category: 'personal-assistant',
        cost: 1196000,
        provider: 'Hackney Support Services',
        goalIds: ['fx-goal-1'],
        managementOption: 'direct-payment',
        status: 'purchased',
      },
      {
        id: 'fx-item-course',
        description: 'Cookery course',
        category: 'education-and-training',
        cost: 12550,
        goalIds: ['fx-goal-2'],
        managementOption: 'notional',
        status: 'approved',
      },
      {
        id: 'fx-item-bike',
        description: 'Exercise bike',
        category: 'sport-and-fitness',
        cost: 19999,
        goalIds: [],
        status: 'declined',
      },
      {
        id: 'fx-item-taxi',
        description: 'Taxi to appointments',
        category: 'travel',
        cost: 4000,
        goalIds: ['fx-goal-1'],
        status: 'cancelled',
      },
      {
        id: 'fx-item-wine',
        description: 'Wine club',
        category: 'alcohol',
        cost: 3000,
        goalIds: [],
        status: 'proposed',
      },
    ],
    risks: 'Missing medication when routines change; my sister checks in daily.',
    contingency: 'If my personal assistant is off sick, the agency sends cover.',
    created: AT,
    agreedOn: '2026-03-09',
    nextReview: '2026-09-09',
  },
];

const request = {
  journeyId,
  budgetHolderId,
  planId: 'fx-plan',
  submittedBy: 'fx-cc',
  submitted: AT,
} as const;

export const fixtureRequests: SpendRequest[] = [
  {
    ...request,
    id: 'fx-request-pa',
    itemId: 'fx-item-pa',
    amount: 1196000,
    category: 'personal-assistant',
    requiredRoles: ['lived-experience-reviewer', 'phb-lead-clinician', 'commissioner'],
    decisions: [
      {
        role: 'lived-experience-reviewer',
        decidedBy: 'fx-ler',
        outcome: 'approve',
        time: '2026-03-03T11:00:00+00:00',
        rationale: 'Meets the walking goal.',
      },
      {
        role: 'phb-lead-clinician',
        decidedBy: 'fx-lead',
        outcome: 'approve',
        time: '2026-03-03T12:00:00+00:00',
        rationale: 'Clinically appropriate.',
      },
      {
        role: 'commissioner',
        decidedBy: 'fx-comm',
        outcome: 'approve',
        time: '2026-03-04T09:00:00+00:00',
        rationale: 'Within budget.',
      },
    ],
    status: 'approved',
    paidOn: '2026-03-10T14:00:00+00:00',
  },
  {
    ...request,
    id: 'fx-request-bike',
    itemId: 'fx-item-bike',
    amount: 19999,
    category: 'sport-and-fitness',
    requiredRoles: ['care-coordinator'],
    decisions: [
      {
        role: 'care-coordinator',
        decidedBy: 'fx-cc2',
        outcome: 'decline',
        time: '2026-03-03T11:00:00+00:00',
        rationale: 'A bike at home does not get me outdoors.',
        alternatives: 'A walking group, or a park gym session each week.',
      },
    ],
    status: 'declined',
  },
  {
    ...request,
    id: 'fx-request-bike-appeal',
    itemId: 'fx-item-bike',
    amount: 19999,
    category: 'sport-and-fitness',
    requiredRoles: ['care-coordinator'],
    decisions: [
      {
        role: 'care-coordinator',
        decidedBy: 'fx-cc3',
        outcome: 'approve',
        time: '2026-03-09T10:00:00+00:00',
        rationale: 'With the walking plan it helps.',
      },
    ],
    status: 'approved',
    appeals: [
      {
        appealedBy: 'fx-person',
        time: '2026-03-05T09:00:00+00:00',
        reason: 'I can use the bike when my knee is bad and I cannot walk far.',
        decisions: [
          {
            role: 'care-coordinator',
            decidedBy: 'fx-cc2',
            outcome: 'decline',
            time: '2026-03-03T11:00:00+00:00',
            rationale: 'A bike at home does not get me outdoors.',
            alternatives: 'A walking group, or a park gym session each week.',
          },
        ],
      },
    ],
  },
  {
    ...request,
    id: 'fx-request-taxi',
    itemId: 'fx-item-taxi',
    amount: 4000,
    category: 'travel',
    requiredRoles: [],
    decisions: [],
    status: 'cancelled',
  },
];

export const fixtureNeeds: NeedsAssessment[] = [
  {
    id: 'fx-needs',
    journeyId,
    budgetHolderId,
    whatMattersToMe: 'Seeing my grandchildren every week.',
    strengths: [],
    circumstances: 'I live alone in a first-floor flat; my sister lives nearby.',
    completed: AT,
  },
  {
    id: 'fx-needs-carers',
    journeyId,
    budgetHolderId,
    whatMattersToMe: 'Staying at home with my family.',
    strengths: ['patient'],
    carers: [
      { relationship: 'my mum', assessmentOffered: true, outcome: 'accepted-referred', offeredOn: '2026-01-10' },
      { relationship: 'my son', assessmentOffered: true, outcome: 'not-yet-decided' },
      { relationship: 'my neighbour', assessmentOffered: false, notOfferedReason: 'Lives abroad most of the year.' },
    ],
    completed: AT,
  },
];

export const fixtureReviews: Review[] = [
  {
    id: 'fx-review-request',
    journeyId,
    budgetHolderId,
    point: 'on-request',
    completed: AT,
    goalProgress: {},
    reflections: {
      whatIsWorking: 'My personal assistant and I go out most days.',
      myStrengths: 'I keep going when things are hard.',
      myWorries: 'What happens when the budget ends.',
      whatNeedsToChange: 'More help with cooking.',
      goalsByNextReview: 'Cook a meal for my family.',
      recoveryDestination: 'Living well on my own, with friends around me.',
    },
  },
  {
    id: 'fx-review-mid',
    journeyId,
    budgetHolderId,
    point: 'midpoint',
    completed: AT,
    impact: { confidence: 5, connected: 1, progressTowardGoals: 2, wellbeing: 4 },
    goalProgress: { 'fx-goal-1': 'improving', 'fx-goal-2': 'no-change' },
    reflections: { myWorries: 'Nothing much.' },
  },
];

/** The plan-side objects of every scenario, then the fixtures. */
export function planSideObjects(): {
  budgets: Budget[];
  plans: CarePlanPcsp[];
  goals: RecoveryGoal[];
  requests: SpendRequest[];
  needs: NeedsAssessment[];
  reviews: Review[];
} {
  const domains = loadScenarios().map(scenarioDomain);
  return {
    budgets: [...domains.map((d) => d.budget), ...fixtureBudgets],
    plans: [...domains.map((d) => d.plan), ...fixturePlans],
    goals: [...domains.flatMap((d) => d.goals), ...fixtureGoals],
    requests: [...domains.flatMap((d) => d.requests), ...fixtureRequests],
    needs: [...domains.flatMap((d) => (d.needs ? [d.needs] : [])), ...fixtureNeeds],
    reviews: [...domains.flatMap((d) => d.reviews), ...fixtureReviews],
  };
}
