import { RIGHT_TO_HAVE_COHORTS, type ClosureReason, type Cohort, type JourneyStage, type PhbKind } from './codes.js';
import { DomainError } from './errors.js';
import type { Eligibility, IsoDate, PhbJourney } from './model.js';

/**
 * The journey through the six steps (DESIGN section 2) as stage transitions. A step may be
 * repeated (a needs conversation again, a new budget figure) but the journey never moves
 * backwards, and nothing happens to a journey once it is closed or found not eligible.
 */
const ORDER: readonly JourneyStage[] = [
  'referred',
  'eligible',
  'needs-assessed',
  'budget-indicated',
  'planning',
  'plan-agreed',
  'active',
  'in-review',
  'closed',
];

const LABEL: Record<JourneyStage, string> = {
  referred: 'referred',
  eligible: 'found eligible',
  'not-eligible': 'found not eligible',
  'needs-assessed': 'past its needs conversation',
  'budget-indicated': 'given an indicative budget',
  planning: 'planning',
  'plan-agreed': 'working to an agreed plan',
  active: 'active',
  'in-review': 'in review',
  closed: 'closed',
};

function rank(stage: JourneyStage): number {
  return ORDER.indexOf(stage);
}

/** The journey must have reached `from` and not be closed (or not eligible); `what` says what was attempted. */
export function requireReached(journey: Pick<PhbJourney, 'stage'>, from: JourneyStage, what: string): void {
  if (journey.stage === 'closed' || journey.stage === 'not-eligible') {
    throw new DomainError('', `${what}: the PHB journey is ${LABEL[journey.stage]}`, 'business-rule');
  }
  if (rank(journey.stage) < rank(from)) {
    throw new DomainError(
      '',
      `${what}: the PHB journey is ${LABEL[journey.stage]}; it must first be ${LABEL[from]}`,
      'business-rule',
    );
  }
}

/** Moves the journey on to `to`, or leaves it where it is if it is already further along. */
export function advance(journey: PhbJourney, to: JourneyStage): PhbJourney {
  return rank(journey.stage) >= rank(to) ? journey : { ...journey, stage: to };
}

export interface ReferralInput {
  id: string;
  budgetHolderId: string;
  kind: PhbKind;
  cohort: Cohort;
  /**
   * The named lead contact (Practitioner id): the person making the referral unless another is
   * named; none yet when a system (a secondary care EHR) refers, until the team picks it up.
   */
  leadContactId?: string;
  managingOrganisationId: string;
  start: IsoDate;
}

/** Step 1: a referral. Eligibility is not decided yet; whether the cohort has a legal right to have a PHB is known. */
export function refer(input: ReferralInput): PhbJourney {
  return {
    ...input,
    stage: 'referred',
    eligibility: { eligible: false, rightToHave: RIGHT_TO_HAVE_COHORTS.includes(input.cohort) },
  };
}

export interface EligibilityDecision {
  eligible: boolean;
  /** A legal right to have; absent means what the cohort implies. */
  rightToHave?: boolean;
  cluster?: number;
  readyForDischarge?: boolean;
  fastTrack?: string;
  decidedOn: IsoDate;
  reason?: string;
}

/**
 * Step 1: the eligibility decision. A person refused must be told why; a person with a legal
 * right to have a PHB (e.g. NHS Continuing Healthcare, section 117 aftercare) cannot be refused
 * for want of a local offer, so refusing them needs a reason too.
 */
export function decideEligibility(journey: PhbJourney, decision: EligibilityDecision): PhbJourney {
  if (journey.stage !== 'referred') {
    throw new DomainError(
      '',
      `eligibility is decided once, on a referral; this PHB journey is ${LABEL[journey.stage]}`,
      'business-rule',
    );
  }
  const reason = decision.reason?.trim();
  if (!decision.eligible && !reason)
    throw new DomainError('/reason', '/reason: a person found not eligible must be told why');
  if (decision.decidedOn < journey.start)
    throw new DomainError('/decidedOn', `/decidedOn: before the referral (${journey.start})`);
  const eligibility: Eligibility = {
    eligible: decision.eligible,
    rightToHave: decision.rightToHave ?? journey.eligibility.rightToHave,
    ...(decision.cluster !== undefined ? { cluster: decision.cluster } : {}),
    ...(decision.readyForDischarge !== undefined ? { readyForDischarge: decision.readyForDischarge } : {}),
    ...(decision.fastTrack !== undefined ? { fastTrack: decision.fastTrack } : {}),
    decidedOn: decision.decidedOn,
    ...(reason ? { reason } : {}),
  };
  return { ...journey, eligibility, stage: decision.eligible ? 'eligible' : 'not-eligible' };
}

/** Step 6: closing the journey, e.g. on discharge to primary care. */
export function closeJourney(journey: PhbJourney, reason: ClosureReason, end: IsoDate): PhbJourney {
  if (journey.stage === 'closed')
    throw new DomainError(
      '',
      `the PHB journey was already closed on ${journey.end ?? 'an earlier date'}`,
      'business-rule',
    );
  if (end < journey.start) throw new DomainError('/end', `/end: before the journey started (${journey.start})`);
  return { ...journey, stage: 'closed', closureReason: reason, end };
}
