import type {
  CalculationLineKind,
  CarerAssessmentOutcome,
  Cohort,
  GoalAchievement,
  GoalLifecycle,
  ImpactItem,
  JourneyStage,
  ManagementOption,
  PhbKind,
  QuestionnaireAmendableBy,
  ReviewPoint,
  SignOffRole,
  SpendCategory,
  StaffRole,
} from './codes.js';
import type { Pence } from './money.js';
import type { NhsNumber } from './nhsNumber.js';

/** Dates are ISO 8601 strings: `YYYY-MM-DD` for dates, full timestamps with zone for instants. */
export type IsoDate = string;
export type IsoDateTime = string;

/** The person who holds the budget. */
export interface BudgetHolder {
  id: string;
  nhsNumber: NhsNumber;
  name: string;
  birthDate: IsoDate;
  /** NHS ethnic category as recorded, e.g. "Black or Black British - African". */
  ethnicity?: string;
  /** ODS code of the GP practice the person is registered with. */
  gpPracticeOds?: string;
}

/** Someone who acts for the budget holder; a nominee may also receive a direct payment. */
export interface Representative {
  id: string;
  budgetHolderId: string;
  name: string;
  /** As the family describes it, e.g. "mother". */
  relationship: string;
  nominee: boolean;
}

export interface StaffMember {
  id: string;
  name: string;
  role: StaffRole;
  /** ODS code of the employing organisation. */
  organisationOds: string;
  /** Team the member works in (access is granted per team). */
  team?: string;
}

export interface Organisation {
  id: string;
  name: string;
  odsCode?: string;
  kind: 'icb' | 'nhs-provider' | 'gp-practice' | 'third-party' | 'provider';
}

export interface Eligibility {
  eligible: boolean;
  rightToHave: boolean;
  /** Mental health care cluster, where the local offer uses one (e.g. 4 or higher). */
  cluster?: number;
  readyForDischarge?: boolean;
  /** A local fast-track offer, e.g. "stay-connected". */
  fastTrack?: string;
  decidedOn?: IsoDate;
  reason?: string;
}

/** One PHB: the journey through the six steps. */
export interface PhbJourney {
  id: string;
  budgetHolderId: string;
  kind: PhbKind;
  cohort: Cohort;
  stage: JourneyStage;
  eligibility: Eligibility;
  /** The named lead contact (a StaffMember id). */
  leadContactId?: string;
  /** The ICB or organisation managing the journey (Organisation id). */
  managingOrganisationId?: string;
  start: IsoDate;
  end?: IsoDate;
  /** Set on closure: why the journey ended. */
  closureReason?: 'discharged-to-primary-care' | 'goals-met' | 'moved-away' | 'died' | 'declined' | 'other';
}

/** Amount per management option; for a single option it has one entry. */
export type ManagementSplit = Partial<Record<ManagementOption, Pence>>;

/** The money: indicative, then agreed, and how it is held. */
export interface Budget {
  id: string;
  journeyId: string;
  budgetHolderId: string;
  kind: PhbKind;
  cohort: Cohort;
  /** The ICB paying (Organisation id). */
  payorId: string;
  indicative: Pence;
  agreed?: Pence;
  /** How the amount was worked out, in words a person can check. */
  calculation?: string;
  /** The same working as lines that add up to the indicative amount (see checkCalculationLines). */
  calculationLines?: CalculationLine[];
  contingency?: Pence;
  /** `mixed` when the split holds more than one option. */
  managementOption: ManagementOption | 'mixed';
  split: ManagementSplit;
  period: { start: IsoDate; end?: IsoDate };
  status: 'draft' | 'active' | 'cancelled';
}

/** One line of a budget calculation, e.g. the personal assistant's pay or the employer's pension. */
export interface CalculationLine {
  kind: CalculationLineKind;
  description?: string;
  amount: Pence;
}

/** Needs conversation, step 2. */
export interface NeedsAssessment {
  id: string;
  journeyId: string;
  budgetHolderId: string;
  whatMattersToMe: string;
  strengths: string[];
  circumstances?: string;
  /** Unpaid carers the person named; absent when none were. */
  carers?: UnpaidCarer[];
  completed: IsoDateTime;
}

/**
 * An unpaid carer identified in the needs conversation. Only who they are to the person is kept,
 * never their name or contact details: the record is the person's, not the carer's.
 */
export interface UnpaidCarer {
  /** In the person's words, e.g. "my mum". */
  relationship: string;
  assessmentOffered: boolean;
  /** Only when offered. */
  outcome?: CarerAssessmentOutcome;
  offeredOn?: IsoDate;
  /** Why no assessment was offered; only when not offered. */
  notOfferedReason?: string;
}

/** A recovery goal in the person's own words. */
export interface RecoveryGoal {
  id: string;
  budgetHolderId: string;
  /** First person: "I want to ...". */
  text: string;
  lifecycle: GoalLifecycle;
  achievement?: GoalAchievement;
  start: IsoDate;
  target?: IsoDate;
  /** Notes the person or staff add about progress, newest last. */
  notes: { text: string; time: IsoDateTime; author?: string }[];
  /** Identifiers given by the EHR that sent the goal in, so a re-send updates it instead of adding another. */
  sourceIdentifiers?: { system: string; value: string }[];
}

/** Something the plan buys: an item, activity or service. */
export interface PlanItem {
  id: string;
  description: string;
  category: SpendCategory;
  cost: Pence;
  /** Organisation id, or a free description such as "retail". */
  provider?: string;
  goalIds: string[];
  managementOption?: ManagementOption;
  status: 'proposed' | 'approved' | 'declined' | 'purchased' | 'cancelled';
}

/** The personalised care and support plan. */
export interface CarePlanPcsp {
  id: string;
  journeyId: string;
  budgetHolderId: string;
  budgetId: string;
  status: 'draft' | 'active' | 'completed' | 'revoked';
  title: string;
  /** What matters to me, in the person's words (PRSB "About me"). */
  aboutMe?: string;
  goalIds: string[];
  items: PlanItem[];
  risks?: string;
  contingency?: string;
  created: IsoDateTime;
  agreedOn?: IsoDate;
  nextReview?: IsoDate;
}

export type DecisionOutcome = 'approve' | 'decline';

/** One signer's decision on a spend request. */
export interface SignOffDecision {
  role: SignOffRole;
  decidedBy: string;
  outcome: DecisionOutcome;
  time: IsoDateTime;
  rationale: string;
  /** Required when declined. */
  alternatives?: string;
}

/** Asking for spend to be signed off. */
export interface SpendRequest {
  id: string;
  journeyId: string;
  budgetHolderId: string;
  planId: string;
  itemId: string;
  amount: Pence;
  category: SpendCategory;
  submittedBy: string;
  submitted: IsoDateTime;
  requiredRoles: SignOffRole[];
  decisions: SignOffDecision[];
  status: 'requested' | 'approved' | 'declined' | 'refused' | 'appealed' | 'cancelled';
  /** Why it was refused without sign-off, e.g. a national restriction. */
  refusalReason?: string;
  /** What the person is offered instead when the request is refused. */
  refusalAlternatives?: string;
  paidOn?: IsoDateTime;
  /** Each appeal against a decline, oldest first, keeping the decisions it set aside. */
  appeals?: SpendAppeal[];
}

/** An appeal reopens a declined request for fresh decisions; the declined round is kept here. */
export interface SpendAppeal {
  /** Who appealed: the budget holder, their representative, or staff on their behalf. */
  appealedBy: string;
  time: IsoDateTime;
  reason: string;
  /** The decisions of the round that ended in the decline. */
  decisions: SignOffDecision[];
}

/** The person's signed direct payment agreement. */
export interface Agreement {
  id: string;
  journeyId: string;
  budgetHolderId: string;
  signedBy: string;
  signed: IsoDateTime;
  text: string;
}

export interface Payment {
  id: string;
  budgetId: string;
  requestId?: string;
  amount: Pence;
  paid: IsoDateTime;
  managementOption: ManagementOption;
}

/**
 * The ledger payments and spend lines are booked to: one per budget, with the budget's id. Its
 * balance is worked out from the payments and spend lines, never stored, so it cannot drift.
 */
export interface BudgetAccount {
  id: string;
  budgetId: string;
  budgetHolderId: string;
  /** Who holds the money (Organisation id): usually the paying ICB. */
  ownerId?: string;
  /** `inactive` while the budget is a draft or once it is cancelled: nothing may be booked to it. */
  status: 'active' | 'inactive';
  period: { start: IsoDate; end?: IsoDate };
}

/** Money actually spent, against a plan item, with its evidence. */
export interface SpendLine {
  id: string;
  budgetId: string;
  itemId?: string;
  amount: Pence;
  category: SpendCategory;
  occurred: IsoDate;
  evidence?: string;
  flaggedMisuse?: boolean;
}

export type ImpactAnswers = Record<ImpactItem, 1 | 2 | 3 | 4 | 5>;

/** The person's own answers at a review, in the first person; each may be left unanswered. */
export interface ReviewReflections {
  whatIsWorking?: string;
  myStrengths?: string;
  myWorries?: string;
  whatNeedsToChange?: string;
  goalsByNextReview?: string;
  recoveryDestination?: string;
}

/** A review: answers to the impact questionnaire and goal progress at that point. */
export interface Review {
  id: string;
  journeyId: string;
  budgetHolderId: string;
  point: ReviewPoint;
  completed: IsoDateTime;
  impact?: ImpactAnswers;
  goalProgress: Record<string, GoalAchievement>;
  /** What the person said at the review (the review questionnaire's first-person questions). */
  reflections?: ReviewReflections;
}

/** Asking the person to answer a questionnaire (as Patient Knows Best does). */
export interface QuestionnaireRequest {
  id: string;
  budgetHolderId: string;
  questionnaire: string;
  requestedBy?: string;
  /** Who may amend the answers once completed (Patient Knows Best's amendableBy); none: neither. */
  amendableBy?: QuestionnaireAmendableBy[];
  status: 'active' | 'completed' | 'revoked';
  authored: IsoDateTime;
}

/** The person's consent to share their PHB with a personal health record app. */
export interface PhrConsent {
  id: string;
  budgetHolderId: string;
  /** The app or organisation the data goes to. */
  recipient: string;
  status: 'active' | 'inactive' | 'rejected';
  dateTime: IsoDateTime;
}

/** The staff looking after one budget holder; staff see the people their care team covers. */
export interface CareTeamAssignment {
  id: string;
  budgetHolderId: string;
  /** Staff member ids (each a PractitionerRole). */
  memberIds: string[];
  active: boolean;
}
