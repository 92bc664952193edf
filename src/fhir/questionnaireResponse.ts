import type { QuestionnaireResponse, QuestionnaireResponseItem, QuestionnaireResponseItemAnswer } from 'fhir/r4.js';
import {
  CARER_ASSESSMENT_OUTCOMES,
  GOAL_ACHIEVEMENTS,
  IMPACT_ITEMS,
  REVIEW_POINTS,
  isCode,
  type GoalAchievement,
} from '../domain/codes.js';
import { DomainError } from '../domain/errors.js';
import type { ImpactAnswers, NeedsAssessment, Review, ReviewReflections, UnpaidCarer } from '../domain/model.js';
import { codeFrom, coding, reference, referencedId, SYSTEMS } from './common.js';
import { journeyExtension, journeyFrom } from './extensionValues.js';
import { opt, required } from './fields.js';

/**
 * Questionnaire answers <-> QuestionnaireResponse (profile phb-questionnaireresponse):
 * NeedsAssessment answers phb-needs (mappings/needs.md); Review answers phb-review, which holds
 * the review questions, goal progress and the impact questions (mappings/review.md). The
 * standalone phb-impact questionnaire (sent to a PHR app) uses the same impact linkIds.
 */
export const PROFILE = SYSTEMS.profile('phb-questionnaireresponse');
const VERSION = '0.1.0';
export const QUESTIONNAIRES = {
  needs: SYSTEMS.questionnaire('phb-needs'),
  review: SYSTEMS.questionnaire('phb-review'),
  impact: SYSTEMS.questionnaire('phb-impact'),
} as const;

/** linkIds of the review's first-person questions, in questionnaire order. */
export const REFLECTION_LINK_IDS: Record<keyof ReviewReflections, string> = {
  whatIsWorking: 'what-is-working',
  myStrengths: 'my-strengths',
  myWorries: 'my-worries',
  whatNeedsToChange: 'what-needs-to-change',
  goalsByNextReview: 'goals-by-next-review',
  recoveryDestination: 'recovery-destination',
};

export function toFhir(answers: NeedsAssessment | Review): QuestionnaireResponse & { id: string } {
  return isNeeds(answers) ? needsToFhir(answers) : reviewToFhir(answers);
}

/** Which domain object comes back depends on the questionnaire answered. */
export function fromFhir(response: QuestionnaireResponse): NeedsAssessment | Review {
  return questionnaireOf(response) === QUESTIONNAIRES.needs ? needsFromFhir(response) : reviewFromFhir(response);
}

function isNeeds(value: NeedsAssessment | Review): value is NeedsAssessment {
  return 'whatMattersToMe' in value;
}

export function needsToFhir(needs: NeedsAssessment): QuestionnaireResponse & { id: string } {
  const items: QuestionnaireResponseItem[] = [text('what-matters-to-me', needs.whatMattersToMe)];
  if (needs.strengths.length > 0)
    items.push({ linkId: 'strengths', answer: needs.strengths.map((s) => ({ valueString: s })) });
  if (needs.circumstances !== undefined) items.push(text('circumstances', needs.circumstances));
  for (const carer of needs.carers ?? []) items.push(carerGroup(carer));
  return envelope(needs, QUESTIONNAIRES.needs, needs.completed, items);
}

export function needsFromFhir(response: QuestionnaireResponse): NeedsAssessment {
  expectQuestionnaire(response, QUESTIONNAIRES.needs);
  const items = response.item ?? [];
  const carers = items.filter((i) => i.linkId === 'unpaid-carers').map(carerFrom);
  return {
    id: required(response.id, 'QuestionnaireResponse.id'),
    journeyId: journeyFrom(response.extension, 'QuestionnaireResponse'),
    budgetHolderId: referencedId(response.subject, 'Patient', 'QuestionnaireResponse.subject'),
    whatMattersToMe: required(
      stringAnswer(items, 'what-matters-to-me'),
      "QuestionnaireResponse.item('what-matters-to-me')",
    ),
    strengths: answersOf(items, 'strengths').map((a, i) =>
      required(a.valueString, `QuestionnaireResponse.item('strengths').answer[${i}]`),
    ),
    ...opt('circumstances', stringAnswer(items, 'circumstances')),
    ...opt('carers', carers.length > 0 ? carers : undefined),
    completed: required(response.authored, 'QuestionnaireResponse.authored'),
  };
}

/** One unpaid-carers group; children in questionnaire order, only those answered. */
function carerGroup(carer: UnpaidCarer): QuestionnaireResponseItem {
  const children: QuestionnaireResponseItem[] = [
    text('carer-relationship', carer.relationship),
    { linkId: 'carer-assessment-offered', answer: [{ valueBoolean: carer.assessmentOffered }] },
  ];
  if (carer.offeredOn !== undefined)
    children.push({ linkId: 'carer-offered-on', answer: [{ valueDate: carer.offeredOn }] });
  if (carer.outcome !== undefined)
    children.push({
      linkId: 'carer-assessment-outcome',
      answer: [{ valueCoding: coding('carer-assessment-outcome', carer.outcome) }],
    });
  if (carer.notOfferedReason !== undefined) children.push(text('carer-not-offered-reason', carer.notOfferedReason));
  return { linkId: 'unpaid-carers', item: children };
}

function carerFrom(group: QuestionnaireResponseItem, i: number): UnpaidCarer {
  const field = `QuestionnaireResponse.item('unpaid-carers')[${i}]`;
  const children = group.item ?? [];
  const offered = answersOf(children, 'carer-assessment-offered')[0]?.valueBoolean;
  if (offered === undefined)
    throw new DomainError(`${field}.carer-assessment-offered`, `${field}.carer-assessment-offered must be answered`);
  const outcome = answersOf(children, 'carer-assessment-outcome')[0]?.valueCoding;
  return {
    relationship: required(stringAnswer(children, 'carer-relationship'), `${field}.carer-relationship`),
    assessmentOffered: offered,
    ...opt(
      'outcome',
      outcome &&
        codeFrom([outcome], 'carer-assessment-outcome', CARER_ASSESSMENT_OUTCOMES, `${field}.carer-assessment-outcome`),
    ),
    ...opt('offeredOn', answersOf(children, 'carer-offered-on')[0]?.valueDate),
    ...opt('notOfferedReason', stringAnswer(children, 'carer-not-offered-reason')),
  };
}

export function reviewToFhir(review: Review): QuestionnaireResponse & { id: string } {
  const items: QuestionnaireResponseItem[] = [
    { linkId: 'review-point', answer: [{ valueCoding: coding('review-point', review.point) }] },
  ];
  for (const [key, linkId] of Object.entries(REFLECTION_LINK_IDS) as [keyof ReviewReflections, string][]) {
    const value = review.reflections?.[key];
    if (value !== undefined) items.push(text(linkId, value));
  }
  for (const [goalId, achievement] of Object.entries(review.goalProgress)) {
    items.push({
      linkId: 'goal-progress',
      item: [
        { linkId: 'goal', answer: [{ valueReference: reference('Goal', goalId) }] },
        { linkId: 'achievement', answer: [{ valueCoding: { system: SYSTEMS.goalAchievement, code: achievement } }] },
      ],
    });
  }
  if (review.impact) items.push({ linkId: 'impact', item: impactItems(review.impact) });
  return envelope(review, QUESTIONNAIRES.review, review.completed, items);
}

export function reviewFromFhir(response: QuestionnaireResponse): Review {
  expectQuestionnaire(response, QUESTIONNAIRES.review);
  const items = response.item ?? [];
  const point = answersOf(items, 'review-point')[0]?.valueCoding;
  const reflections: ReviewReflections = {};
  for (const [key, linkId] of Object.entries(REFLECTION_LINK_IDS) as [keyof ReviewReflections, string][]) {
    const value = stringAnswer(items, linkId);
    if (value !== undefined) reflections[key] = value;
  }
  const impact = items.find((i) => i.linkId === 'impact');
  return {
    id: required(response.id, 'QuestionnaireResponse.id'),
    journeyId: journeyFrom(response.extension, 'QuestionnaireResponse'),
    budgetHolderId: referencedId(response.subject, 'Patient', 'QuestionnaireResponse.subject'),
    point: codeFrom(
      point ? [point] : undefined,
      'review-point',
      REVIEW_POINTS,
      "QuestionnaireResponse.item('review-point')",
    ),
    completed: required(response.authored, 'QuestionnaireResponse.authored'),
    ...opt('impact', impact && impactFromItems(impact.item ?? [], "QuestionnaireResponse.item('impact')")),
    goalProgress: Object.fromEntries(items.filter((i) => i.linkId === 'goal-progress').map(goalProgressFrom)),
    ...(Object.keys(reflections).length > 0 ? { reflections } : {}),
  };
}

/** Answers to the standalone phb-impact questionnaire, e.g. sent back by a PHR app. */
export function impactFromFhir(response: QuestionnaireResponse): ImpactAnswers {
  expectQuestionnaire(response, QUESTIONNAIRES.impact);
  return impactFromItems(response.item ?? [], 'QuestionnaireResponse.item');
}

/** The four impact items, in questionnaire order; the same linkIds in phb-impact and phb-review. */
export function impactItems(impact: ImpactAnswers): QuestionnaireResponseItem[] {
  return IMPACT_ITEMS.map((linkId) => ({ linkId, answer: [{ valueInteger: impact[linkId] }] }));
}

export function impactFromItems(items: QuestionnaireResponseItem[], field: string): ImpactAnswers {
  const entries = IMPACT_ITEMS.map((linkId) => {
    const value = answersOf(items, linkId)[0]?.valueInteger;
    if (value !== 1 && value !== 2 && value !== 3 && value !== 4 && value !== 5) {
      throw new DomainError(
        `${field}.item('${linkId}')`,
        `${field}.item('${linkId}') must be answered with a whole number from 1 to 5`,
      );
    }
    return [linkId, value] as const;
  });
  return Object.fromEntries(entries) as ImpactAnswers;
}

function goalProgressFrom(group: QuestionnaireResponseItem, i: number): [string, GoalAchievement] {
  const field = `QuestionnaireResponse.item('goal-progress')[${i}]`;
  const children = group.item ?? [];
  const goalId = referencedId(answersOf(children, 'goal')[0]?.valueReference, 'Goal', `${field}.goal`);
  const achievement = answersOf(children, 'achievement')[0]?.valueCoding;
  if (achievement?.system !== SYSTEMS.goalAchievement || !isCode(GOAL_ACHIEVEMENTS, achievement.code)) {
    throw new DomainError(
      `${field}.achievement`,
      `${field}.achievement must carry a code from ${SYSTEMS.goalAchievement}`,
    );
  }
  return [goalId, achievement.code];
}

function envelope(
  subject: { id: string; journeyId: string; budgetHolderId: string },
  questionnaire: string,
  authored: string,
  items: QuestionnaireResponseItem[],
): QuestionnaireResponse & { id: string } {
  return {
    resourceType: 'QuestionnaireResponse',
    id: subject.id,
    meta: { profile: [PROFILE] },
    extension: [journeyExtension(subject.journeyId)],
    questionnaire: `${questionnaire}|${VERSION}`,
    status: 'completed',
    subject: reference('Patient', subject.budgetHolderId),
    authored,
    item: items,
  };
}

function questionnaireOf(response: QuestionnaireResponse): string | undefined {
  return response.questionnaire?.split('|')[0];
}

function expectQuestionnaire(response: QuestionnaireResponse, url: string): void {
  if (questionnaireOf(response) !== url) {
    throw new DomainError(
      'QuestionnaireResponse.questionnaire',
      `QuestionnaireResponse.questionnaire must be ${url} (got ${response.questionnaire ?? 'none'})`,
    );
  }
  if (response.status !== 'completed') {
    throw new DomainError(
      'QuestionnaireResponse.status',
      `QuestionnaireResponse.status must be completed (got ${response.status})`,
    );
  }
}

function text(linkId: string, value: string): QuestionnaireResponseItem {
  return { linkId, answer: [{ valueString: value }] };
}

function answersOf(items: QuestionnaireResponseItem[], linkId: string): QuestionnaireResponseItemAnswer[] {
  return items.filter((i) => i.linkId === linkId).flatMap((i) => i.answer ?? []);
}

function stringAnswer(items: QuestionnaireResponseItem[], linkId: string): string | undefined {
  return answersOf(items, linkId)[0]?.valueString;
}
