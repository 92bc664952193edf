import {
  CALCULATION_LINE_KINDS,
  CARER_ASSESSMENT_OUTCOMES,
  CLOSURE_REASONS,
  COHORTS,
  GOAL_ACHIEVEMENTS,
  GOAL_LIFECYCLES,
  IMPACT_ITEMS,
  JOURNEY_STAGES,
  MANAGEMENT_OPTIONS,
  PHB_KINDS,
  PLAN_ITEM_STATUSES,
  REVIEW_POINTS,
  SIGN_OFF_ROLES,
  SPEND_CATEGORIES,
  SPEND_REQUEST_STATUSES,
} from '../../domain/codes.js';
import { ID_PATTERN } from '../../domain/ids.js';

/**
 * The JSON Schemas (2020-12) of every /api/v1 request and response body. The same objects are
 * the OpenAPI document's components and what ajv compiles at start, so the published contract
 * and the checks cannot drift apart. References are written as OpenAPI writes them.
 */
export type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str = (maxLength = 2000): Schema => ({ type: 'string', minLength: 1, maxLength });
const text = str(20000);
const bool: Schema = { type: 'boolean' };
const list = (items: Schema, maxItems = 200): Schema => ({ type: 'array', items, maxItems });
const codes = (values: readonly string[]): Schema => ({ type: 'string', enum: [...values] });
const object = (required: string[], properties: Record<string, Schema>, strict = true): Schema => ({
  type: 'object',
  required,
  properties,
  ...(strict ? { additionalProperties: false } : {}),
});
/** Responses may grow new fields without breaking clients, so they are not closed. */
const response = (required: string[], properties: Record<string, Schema>): Schema =>
  object(required, properties, false);

const optionAmounts: Schema = {
  type: 'object',
  propertyNames: { enum: [...MANAGEMENT_OPTIONS] },
  additionalProperties: ref('Pence'),
};

export const SCHEMAS: Record<string, Schema> = {
  // Building blocks.
  Pence: {
    type: 'integer',
    minimum: 0,
    maximum: 100_000_000_00,
    description: 'Money in whole pence (GBP), never pounds.',
  },
  PositivePence: {
    type: 'integer',
    minimum: 1,
    maximum: 100_000_000_00,
    description: 'Money in whole pence (GBP), more than zero.',
  },
  Date: { type: 'string', format: 'date' },
  DateTime: {
    type: 'string',
    format: 'date-time',
    description: 'An instant with its zone, e.g. 2026-01-05T10:00:00Z.',
  },
  Id: { type: 'string', pattern: `^${ID_PATTERN}$` },
  Key: {
    type: 'string',
    pattern: '^[A-Za-z0-9\\-]{1,40}$',
    description: 'A short key the request uses to link its own parts.',
  },
  ManagementOption: codes(MANAGEMENT_OPTIONS),
  Split: optionAmounts,

  // Requests.
  ReferralInput: object(['person', 'kind', 'cohort', 'start'], {
    person: object(['nhsNumber', 'name', 'birthDate'], {
      nhsNumber: { type: 'string', minLength: 10, maxLength: 12 },
      name: str(200),
      birthDate: ref('Date'),
      ethnicity: str(200),
      gpPracticeOds: { type: 'string', pattern: '^[A-Z0-9]{3,8}$' },
    }),
    kind: codes(PHB_KINDS),
    cohort: codes(COHORTS),
    start: ref('Date'),
    careTeam: {
      ...list(ref('Id'), 20),
      description: 'PractitionerRole ids of the staff looking after the person; the referrer is always on it.',
    },
  }),
  EligibilityInput: object(['eligible', 'decidedOn'], {
    eligible: bool,
    rightToHave: bool,
    cluster: { type: 'integer', minimum: 0, maximum: 21 },
    readyForDischarge: bool,
    fastTrack: str(100),
    decidedOn: ref('Date'),
    reason: str(),
  }),
  NeedsInput: object(['whatMattersToMe'], {
    whatMattersToMe: text,
    strengths: list(str(500), 50),
    circumstances: text,
    carers: {
      ...list(ref('UnpaidCarerInput'), 20),
      description: 'Unpaid carers the person named; each is offered an assessment of their own, or the reason why not.',
    },
    completed: ref('DateTime'),
  }),
  CalculationLine: object(['kind', 'amount'], {
    kind: codes(CALCULATION_LINE_KINDS),
    description: str(500),
    amount: ref('PositivePence'),
  }),
  UnpaidCarerInput: object(['relationship', 'assessmentOffered'], {
    relationship: {
      ...str(200),
      description: 'Who they are to the person, in their words, e.g. "my mum"; never a name or contact details.',
    },
    assessmentOffered: bool,
    outcome: {
      ...codes(CARER_ASSESSMENT_OUTCOMES),
      description:
        'Required when an assessment was offered (not-yet-decided if the carer has not decided); absent otherwise.',
    },
    offeredOn: ref('Date'),
    notOfferedReason: { ...str(), description: 'Required when no assessment was offered; absent otherwise.' },
  }),
  BudgetInput: object(['indicative', 'managementOption', 'split', 'start'], {
    indicative: ref('PositivePence'),
    calculation: text,
    calculationLines: {
      ...list(ref('CalculationLine'), 50),
      minItems: 1,
      description:
        'The calculation as lines adding up to the indicative amount; employment on-costs only beside a personal-assistant-pay line.',
    },
    contingency: ref('Pence'),
    managementOption: codes([...MANAGEMENT_OPTIONS, 'mixed']),
    split: ref('Split'),
    start: ref('Date'),
    end: ref('Date'),
  }),
  GoalInput: object(['key', 'text'], { key: ref('Key'), text: str(1000), target: ref('Date') }),
  PlanItemInput: object(['id', 'description', 'category', 'cost'], {
    id: { type: 'string', pattern: '^[A-Za-z0-9\\-]{1,40}$' },
    description: str(500),
    category: codes(SPEND_CATEGORIES),
    cost: ref('Pence'),
    provider: str(200),
    goals: list(ref('Key'), 20),
    managementOption: ref('ManagementOption'),
  }),
  PlanInput: object(['goals', 'items'], {
    title: str(200),
    aboutMe: text,
    goals: { ...list(ref('GoalInput'), 20), minItems: 1 },
    items: list(ref('PlanItemInput'), 200),
    risks: text,
    contingency: text,
    nextReview: ref('Date'),
    created: ref('DateTime'),
  }),
  PlanAgreementInput: object(['agreedOn'], {
    agreedOn: ref('Date'),
    agreed: ref('PositivePence'),
    split: ref('Split'),
  }),
  SpendRequestInput: object(['itemId'], { itemId: str(64), submitted: ref('DateTime') }),
  DecisionInput: object(['outcome', 'rationale'], {
    outcome: codes(['approve', 'decline']),
    rationale: str(),
    alternatives: str(),
    time: ref('DateTime'),
  }),
  AppealInput: object(['reason'], { reason: str(), time: ref('DateTime') }),
  AgreementInput: object(['text'], { text, signed: ref('DateTime') }),
  PaymentInput: object(['amount'], {
    requestId: ref('Id'),
    amount: ref('PositivePence'),
    managementOption: ref('ManagementOption'),
    paid: ref('DateTime'),
  }),
  SpendInput: object(['amount', 'category', 'occurred'], {
    itemId: str(64),
    amount: ref('PositivePence'),
    category: codes(SPEND_CATEGORIES),
    occurred: ref('Date'),
    evidence: str(500),
  }),
  MisuseFlagInput: object(['flaggedMisuse'], { flaggedMisuse: bool }),
  RecoveryInput: object(['amount', 'managementOption', 'agreed'], {
    amount: ref('PositivePence'),
    managementOption: ref('ManagementOption'),
    agreed: ref('DateTime'),
  }),
  ReviewInput: object(['point'], {
    point: codes(REVIEW_POINTS),
    completed: ref('DateTime'),
    impact: object(
      [...IMPACT_ITEMS],
      Object.fromEntries(IMPACT_ITEMS.map((i) => [i, { type: 'integer', minimum: 1, maximum: 5 }])),
    ),
    goalProgress: { type: 'object', propertyNames: ref('Id'), additionalProperties: codes(GOAL_ACHIEVEMENTS) },
    reflections: object(
      [],
      Object.fromEntries(
        [
          'whatIsWorking',
          'myStrengths',
          'myWorries',
          'whatNeedsToChange',
          'goalsByNextReview',
          'recoveryDestination',
        ].map((k) => [k, str(5000)]),
      ),
    ),
    planChanges: object([], {
      addItems: list(ref('PlanItemInput'), 50),
      cancelItemIds: list(str(64), 50),
      nextReview: ref('Date'),
    }),
    budgetChange: object(['agreed', 'split'], {
      agreed: ref('PositivePence'),
      managementOption: codes([...MANAGEMENT_OPTIONS, 'mixed']),
      split: ref('Split'),
      calculation: text,
    }),
  }),
  ClosureInput: object(['reason', 'end'], { reason: codes(CLOSURE_REASONS), end: ref('Date') }),
  ConsentInput: object(['recipient', 'status'], {
    recipient: str(100),
    status: codes(['active', 'inactive', 'rejected']),
    dateTime: ref('DateTime'),
  }),

  // Responses.
  Journey: response(['id', 'budgetHolderId', 'kind', 'cohort', 'stage', 'eligibility', 'start', 'version'], {
    id: ref('Id'),
    budgetHolderId: ref('Id'),
    kind: codes(PHB_KINDS),
    cohort: codes(COHORTS),
    stage: codes(JOURNEY_STAGES),
    eligibility: response(['eligible', 'rightToHave'], { eligible: bool, rightToHave: bool }),
    leadContactId: ref('Id'),
    managingOrganisationId: ref('Id'),
    start: ref('Date'),
    end: ref('Date'),
    closureReason: codes(CLOSURE_REASONS),
    version: { type: 'string' },
  }),
  JourneyList: response(['journeys'], { journeys: list(ref('Journey'), 1000) }),
  Budget: response(['id', 'indicative', 'managementOption', 'split', 'status', 'version'], {
    id: ref('Id'),
    indicative: ref('Pence'),
    agreed: ref('Pence'),
    calculation: { type: 'string' },
    calculationLines: list(ref('CalculationLine'), 50),
    contingency: ref('Pence'),
    managementOption: codes([...MANAGEMENT_OPTIONS, 'mixed']),
    split: ref('Split'),
    status: codes(['draft', 'active', 'cancelled']),
    version: { type: 'string' },
  }),
  Goal: response(['id', 'text', 'lifecycle'], {
    id: ref('Id'),
    text: { type: 'string' },
    lifecycle: codes(GOAL_LIFECYCLES),
    achievement: codes(GOAL_ACHIEVEMENTS),
  }),
  Plan: response(['id', 'status', 'goalIds', 'items', 'version'], {
    id: ref('Id'),
    status: codes(['draft', 'active', 'completed', 'revoked']),
    goalIds: list(ref('Id')),
    agreedOn: ref('Date'),
    items: list(
      response(['id', 'description', 'category', 'cost', 'status'], {
        id: { type: 'string' },
        description: { type: 'string' },
        category: codes(SPEND_CATEGORIES),
        cost: ref('Pence'),
        status: codes(PLAN_ITEM_STATUSES),
      }),
    ),
    version: { type: 'string' },
  }),
  PlanView: response(['plan', 'goals'], { plan: ref('Plan'), goals: list(ref('Goal')) }),
  Turnaround: response(['submitted', 'appeals'], {
    submitted: ref('DateTime'),
    decided: ref('DateTime'),
    paid: ref('DateTime'),
    requestToDecisionHours: { type: 'number' },
    decisionToPaymentHours: { type: 'number' },
    requestToPaymentHours: { type: 'number' },
    appeals: { type: 'integer', minimum: 0 },
  }),
  SpendRequest: response(
    ['id', 'itemId', 'amount', 'category', 'requiredRoles', 'decisions', 'status', 'turnaround', 'version'],
    {
      id: ref('Id'),
      itemId: { type: 'string' },
      amount: ref('Pence'),
      category: codes(SPEND_CATEGORIES),
      requiredRoles: list(codes(SIGN_OFF_ROLES), 10),
      decisions: list(
        response(['role', 'decidedBy', 'outcome', 'time', 'rationale'], {
          role: codes(SIGN_OFF_ROLES),
          decidedBy: ref('Id'),
          outcome: codes(['approve', 'decline']),
          time: ref('DateTime'),
          rationale: { type: 'string' },
          alternatives: { type: 'string' },
        }),
        10,
      ),
      status: codes(SPEND_REQUEST_STATUSES),
      refusalReason: { type: 'string' },
      refusalAlternatives: { type: 'string' },
      paidOn: ref('DateTime'),
      turnaround: ref('Turnaround'),
      version: { type: 'string' },
    },
  ),
  Payment: response(['id', 'amount', 'paid', 'managementOption'], {
    id: ref('Id'),
    requestId: ref('Id'),
    amount: { type: 'integer' },
    paid: ref('DateTime'),
    managementOption: ref('ManagementOption'),
  }),
  SpendLine: response(['id', 'amount', 'category', 'occurred'], {
    id: ref('Id'),
    itemId: { type: 'string' },
    amount: ref('Pence'),
    category: codes(SPEND_CATEGORIES),
    occurred: ref('Date'),
    evidence: { type: 'string' },
    flaggedMisuse: bool,
    version: { type: 'string' },
  }),
  Agreement: response(['id', 'signedBy', 'signed', 'text'], {
    id: ref('Id'),
    signedBy: ref('Id'),
    signed: ref('DateTime'),
    text: { type: 'string' },
  }),
  Needs: response(['id', 'whatMattersToMe', 'strengths', 'completed'], {
    id: ref('Id'),
    whatMattersToMe: { type: 'string' },
    strengths: list({ type: 'string' }),
    circumstances: { type: 'string' },
    carers: list(
      response(['relationship', 'assessmentOffered'], {
        relationship: { type: 'string' },
        assessmentOffered: bool,
        outcome: codes(CARER_ASSESSMENT_OUTCOMES),
        offeredOn: ref('Date'),
        notOfferedReason: { type: 'string' },
      }),
    ),
    completed: ref('DateTime'),
  }),
  Review: response(['id', 'point', 'completed', 'goalProgress'], {
    id: ref('Id'),
    point: codes(REVIEW_POINTS),
    completed: ref('DateTime'),
    impact: { type: 'object', additionalProperties: { type: 'integer', minimum: 1, maximum: 5 } },
    goalProgress: { type: 'object', additionalProperties: codes(GOAL_ACHIEVEMENTS) },
  }),
  Impact: response(['scores'], {
    scores: list(
      response(['score', 'first', 'latest', 'change', 'trend'], {
        score: { type: 'string' },
        first: { type: 'number' },
        latest: { type: 'number' },
        change: { type: 'number' },
        trend: codes(['improved', 'no-change', 'worse']),
      }),
      20,
    ),
  }),
  FinancialAudit: response(
    [
      'budget',
      'paid',
      'spent',
      'underspend',
      'underspendByOption',
      'recovered',
      'outstandingByOption',
      'overspend',
      'misuse',
    ],
    {
      budget: ref('Pence'),
      paid: ref('Pence'),
      paidByOption: ref('Split'),
      spent: ref('Pence'),
      spentByOption: ref('Split'),
      unattributedSpend: ref('Pence'),
      underspend: ref('Pence'),
      underspendByOption: ref('Split'),
      recovered: ref('Pence'),
      outstandingByOption: ref('Split'),
      overspend: ref('Pence'),
      misuse: list(
        response(['lineId', 'amount', 'reason'], {
          lineId: ref('Id'),
          amount: ref('Pence'),
          reason: { type: 'string' },
        }),
        1000,
      ),
    },
  ),
  Consent: response(['id', 'recipient', 'status'], {
    id: ref('Id'),
    recipient: { type: 'string' },
    status: codes(['active', 'inactive', 'rejected']),
  }),
  JourneySummary: response(['journey', 'goals', 'requests', 'payments', 'spend', 'reviews'], {
    journey: ref('Journey'),
    budget: ref('Budget'),
    plan: ref('Plan'),
    goals: list(ref('Goal')),
    needs: ref('Needs'),
    requests: list(ref('SpendRequest'), 1000),
    payments: list(ref('Payment'), 1000),
    spend: list(ref('SpendLine'), 1000),
    reviews: list(ref('Review'), 100),
    agreement: ref('Agreement'),
    impact: ref('Impact'),
  }),
  Problem: response(['type', 'title', 'status'], {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: list(
      response(['code', 'detail'], {
        code: { type: 'string' },
        detail: { type: 'string' },
        pointer: { type: 'string' },
      }),
    ),
  }),
};
