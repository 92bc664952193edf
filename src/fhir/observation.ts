import type { Observation } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';
import type { QuestionnaireScore } from '../domain/scores.js';
import { extension, findExtension, reference, referencedId, SYSTEMS } from './common.js';
import { journeyExtension } from './extensionValues.js';
import { opt, required, resourceId } from './fields.js';

/**
 * QuestionnaireScore <-> Observation (mappings/score.md): one Observation per score, derived
 * from the QuestionnaireResponse (SDC), so PHR apps can chart it and trends need no re-scoring.
 */
export const SCORE_SYSTEM = SYSTEMS.codeSystem('questionnaire-score');
export const QUESTIONNAIRE_EXTENSION = 'phb-score-questionnaire';
const CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';
const UCUM = 'http://unitsofmeasure.org';

export function toFhir(score: QuestionnaireScore): Observation & { id: string } {
  const canonical =
    score.questionnaireVersion !== undefined
      ? `${score.questionnaire}|${score.questionnaireVersion}`
      : score.questionnaire;
  return {
    resourceType: 'Observation',
    id: score.id,
    extension: [
      extension(QUESTIONNAIRE_EXTENSION, { valueCanonical: canonical }),
      ...(score.journeyId !== undefined ? [journeyExtension(score.journeyId)] : []),
    ],
    status: 'final',
    category: [{ coding: [{ system: CATEGORY_SYSTEM, code: 'survey', display: 'Survey' }] }],
    code: { coding: [{ system: SCORE_SYSTEM, code: score.score }], text: `${score.score} score` },
    subject: reference('Patient', score.budgetHolderId),
    effectiveDateTime: score.time,
    valueQuantity: { value: score.value, unit: 'score', system: UCUM, code: '{score}' },
    derivedFrom: [reference('QuestionnaireResponse', score.responseId)],
    ...(score.requestId !== undefined ? { basedOn: [reference('ServiceRequest', score.requestId)] } : {}),
  };
}

/** True for the Observations this mapper writes (a patient's record holds other Observations too). */
export function isScore(observation: Observation): boolean {
  return (
    findExtension(observation.extension, QUESTIONNAIRE_EXTENSION) !== undefined &&
    (observation.code.coding ?? []).some((c) => c.system === SCORE_SYSTEM)
  );
}

export function fromFhir(observation: Observation): QuestionnaireScore {
  const canonical = required(
    findExtension(observation.extension, QUESTIONNAIRE_EXTENSION)?.valueCanonical,
    '/extension (phb-score-questionnaire)',
  );
  const [questionnaire, version] = canonical.split('|') as [string, string | undefined];
  const score = (observation.code.coding ?? []).find((c) => c.system === SCORE_SYSTEM)?.code;
  const value = observation.valueQuantity?.value;
  if (value === undefined) throw new DomainError('/valueQuantity/value', '/valueQuantity/value is missing');
  const journey = findExtension(observation.extension, 'phb-journey')?.valueReference;
  return {
    id: resourceId(observation),
    budgetHolderId: referencedId(observation.subject, 'Patient', '/subject'),
    ...opt('journeyId', journey ? referencedId(journey, 'EpisodeOfCare', '/extension (phb-journey)') : undefined),
    questionnaire,
    ...opt('questionnaireVersion', version),
    score: required(score, '/code/coding (questionnaire-score)'),
    value,
    time: required(observation.effectiveDateTime, '/effectiveDateTime'),
    responseId: referencedId(observation.derivedFrom?.[0], 'QuestionnaireResponse', '/derivedFrom/0'),
    ...opt(
      'requestId',
      observation.basedOn?.[0] ? referencedId(observation.basedOn[0], 'ServiceRequest', '/basedOn/0') : undefined,
    ),
  };
}
