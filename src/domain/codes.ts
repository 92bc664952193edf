/**
 * The PHB vocabularies. Each list is also a CodeSystem in profiles/ (same codes, same order);
 * a test keeps the two in step.
 */
export const PHB_KINDS = ['one-off', 'ongoing'] as const;
export type PhbKind = (typeof PHB_KINDS)[number];

/** Legal right-to-have cohorts first, then local offers. */
export const COHORTS = [
  'nhs-continuing-healthcare',
  'childrens-continuing-care',
  'section-117-aftercare',
  'wheelchair',
  'mental-health-recovery',
  'mental-health-early-intervention',
  'carers',
  'other',
] as const;
export type Cohort = (typeof COHORTS)[number];
export const RIGHT_TO_HAVE_COHORTS: readonly Cohort[] = [
  'nhs-continuing-healthcare',
  'childrens-continuing-care',
  'section-117-aftercare',
  'wheelchair',
];

export const MANAGEMENT_OPTIONS = ['notional', 'third-party', 'direct-payment', 'managed-account'] as const;
export type ManagementOption = (typeof MANAGEMENT_OPTIONS)[number];

/**
 * The lines of a budget calculation (Quality Framework step 3). When the budget pays personal
 * assistants, the employer's on-costs are lines of their own beside the pay, so the person can see
 * what employing someone costs.
 */
export const CALCULATION_LINE_KINDS = [
  'personal-assistant-pay',
  'employer-national-insurance',
  'employer-pension',
  'training',
  'employer-liability-insurance',
  'payroll-service',
  'contingency',
  'other-support',
] as const;
export type CalculationLineKind = (typeof CALCULATION_LINE_KINDS)[number];

/** The costs of being an employer: only in a calculation that pays a personal assistant. */
export const EMPLOYMENT_ON_COST_KINDS: readonly CalculationLineKind[] = [
  'employer-national-insurance',
  'employer-pension',
  'training',
  'employer-liability-insurance',
  'payroll-service',
];

export const SPEND_CATEGORIES = [
  'it-equipment',
  'sport-and-fitness',
  'education-and-training',
  'therapy',
  'personal-assistant',
  'travel',
  'creative-activity',
  'social-activity',
  'household',
  'equipment',
  'respite',
  'other',
  // Categories that are national restrictions: kept so a refused request records what it was.
  'alcohol',
  'tobacco',
  'gambling',
  'debt-repayment',
  'emergency-care',
  'gp-provided-care',
] as const;
export type SpendCategory = (typeof SPEND_CATEGORIES)[number];

/** What no PHB may buy, under any local policy. */
export const NATIONAL_RESTRICTIONS = [
  'alcohol',
  'tobacco',
  'gambling',
  'debt-repayment',
  'emergency-care',
  'gp-provided-care',
] as const;
export type NationalRestriction = (typeof NATIONAL_RESTRICTIONS)[number];

export const RESTRICTION_LABELS: Record<NationalRestriction, string> = {
  alcohol: 'alcohol',
  tobacco: 'tobacco',
  gambling: 'gambling',
  'debt-repayment': 'debt repayment',
  'emergency-care': 'emergency care',
  'gp-provided-care': 'care normally provided by a GP',
};

/** What the person is offered instead of a restricted purchase: somewhere to go for the same need. */
export const RESTRICTION_ALTERNATIVES: Record<NationalRestriction, string> = {
  alcohol:
    'Free NHS and local alcohol support services; the budget can pay for other activities towards the same goal.',
  tobacco: 'The free NHS Stop Smoking service; the budget can pay for other activities towards the same goal.',
  gambling:
    'The NHS gambling support service and GamCare; the budget can pay for other activities towards the same goal.',
  'debt-repayment':
    'Free, confidential debt advice (Citizens Advice or StepChange); the budget can pay for a budgeting course or other support towards the same goal.',
  'emergency-care':
    'Emergency care is free from the NHS (999, A&E or NHS 111); the budget can pay for support that helps avoid a crisis.',
  'gp-provided-care':
    'Ask the GP practice: care it normally provides is free; the budget can pay for support the GP does not provide.',
};

export function restrictionFor(category: SpendCategory): NationalRestriction | undefined {
  return (NATIONAL_RESTRICTIONS as readonly string[]).includes(category)
    ? (category as NationalRestriction)
    : undefined;
}

export const STAFF_ROLES = [
  'care-coordinator',
  'team-lead',
  'phb-lead-clinician',
  'lived-experience-reviewer',
  'commissioner',
  'phb-advisor',
] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** Roles that can sign off a spend request. */
export const SIGN_OFF_ROLES = [
  'care-coordinator',
  'team-lead',
  'phb-lead-clinician',
  'lived-experience-reviewer',
  'commissioner',
] as const;
export type SignOffRole = (typeof SIGN_OFF_ROLES)[number];

export const REVIEW_POINTS = ['start', 'midpoint', 'end', 'on-request'] as const;
export type ReviewPoint = (typeof REVIEW_POINTS)[number];

/** FHIR goal-achievement codes (http://terminology.hl7.org/CodeSystem/goal-achievement). */
export const GOAL_ACHIEVEMENTS = [
  'in-progress',
  'improving',
  'worsening',
  'no-change',
  'achieved',
  'sustaining',
  'not-achieved',
  'no-progress',
  'not-attainable',
] as const;
export type GoalAchievement = (typeof GOAL_ACHIEVEMENTS)[number];

/** FHIR goal lifecycle (http://hl7.org/fhir/goal-status). */
export const GOAL_LIFECYCLES = [
  'proposed',
  'planned',
  'accepted',
  'active',
  'on-hold',
  'completed',
  'cancelled',
  'entered-in-error',
  'rejected',
] as const;
export type GoalLifecycle = (typeof GOAL_LIFECYCLES)[number];

/** Where a PHB journey is, following the six steps. */
export const JOURNEY_STAGES = [
  'referred',
  'eligible',
  'not-eligible',
  'needs-assessed',
  'budget-indicated',
  'planning',
  'plan-agreed',
  'active',
  'in-review',
  'closed',
] as const;
export type JourneyStage = (typeof JOURNEY_STAGES)[number];

/** The PHB impact questionnaire's four items, each answered 1-5. */
export const IMPACT_ITEMS = ['confidence', 'connected', 'progressTowardGoals', 'wellbeing'] as const;
export type ImpactItem = (typeof IMPACT_ITEMS)[number];

/** Where a plan item is; the plan-item-status CodeSystem holds these codes. */
export const PLAN_ITEM_STATUSES = ['proposed', 'approved', 'declined', 'purchased', 'cancelled'] as const;
export type PlanItemStatus = (typeof PLAN_ITEM_STATUSES)[number];

/** Where a spend request is; carried as the sign-off Task's businessStatus. */
export const SPEND_REQUEST_STATUSES = [
  'requested',
  'approved',
  'declined',
  'refused',
  'appealed',
  'cancelled',
] as const;
export type SpendRequestStatus = (typeof SPEND_REQUEST_STATUSES)[number];

/** One signer's decision. */
export const DECISION_OUTCOMES = ['approve', 'decline'] as const;

/** What a PHB Task asks someone to do. */
export const PHB_TASK_TYPES = ['spend-sign-off', 'review-due'] as const;
export type PhbTaskType = (typeof PHB_TASK_TYPES)[number];

/** The part an organisation plays; the phb-organisation-kind CodeSystem holds these codes. */
export const ORGANISATION_KINDS = ['icb', 'nhs-provider', 'gp-practice', 'third-party', 'provider'] as const;
export type OrganisationKind = (typeof ORGANISATION_KINDS)[number];

/** Why a PHB journey was closed; the phb-closure-reason CodeSystem holds these codes. */
export const CLOSURE_REASONS = [
  'discharged-to-primary-care',
  'goals-met',
  'moved-away',
  'died',
  'declined',
  'other',
] as const;
export type ClosureReason = (typeof CLOSURE_REASONS)[number];

/**
 * What came of offering an unpaid carer an assessment of their own (PHB Quality Framework step 2);
 * the carer-assessment-outcome CodeSystem holds these codes.
 */
export const CARER_ASSESSMENT_OUTCOMES = [
  'accepted-referred',
  'declined',
  'already-assessed',
  'not-yet-decided',
] as const;
export type CarerAssessmentOutcome = (typeof CARER_ASSESSMENT_OUTCOMES)[number];

/**
 * Patient Knows Best's `$send-questionnaire-request` codes, spelled as PKB spells them: whether the
 * requestor wants an email when the person answers, and who may amend completed answers.
 */
export const QUESTIONNAIRE_NOTIFICATION_FLAGS = ['EMAIL_NOTIFICATION_ENABLED', 'EMAIL_NOTIFICATION_DISABLED'] as const;
export const QUESTIONNAIRE_AMENDABLE_BY = ['patient', 'practitioner'] as const;
export type QuestionnaireAmendableBy = (typeof QUESTIONNAIRE_AMENDABLE_BY)[number];

export function isCode<T extends string>(list: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (list as readonly string[]).includes(value);
}
