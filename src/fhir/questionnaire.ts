import type { Questionnaire, QuestionnaireResponse, QuestionnaireResponseItem } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';
import type { ScoringRule } from '../domain/scores.js';
import { findExtensions } from './common.js';

/** Scoring rules carried by a Questionnaire (extension phb-questionnaire-scoring), one per score. */
export function scoringRules(questionnaire: Questionnaire): ScoringRule[] {
  return findExtensions(questionnaire.extension, 'phb-questionnaire-scoring').map((ext, i) => {
    const field = `Questionnaire.extension('phb-questionnaire-scoring')[${i}]`;
    const parts = ext.extension ?? [];
    const one = (url: string) => parts.find((p) => p.url === url);
    const score = one('score')?.valueString;
    const method = one('method')?.valueCode;
    const minimum = one('minimum')?.valueDecimal;
    const maximum = one('maximum')?.valueDecimal;
    const meaningfulChange = one('meaningfulChange')?.valueDecimal;
    const higherIsBetter = one('higherIsBetter')?.valueBoolean;
    const items = parts
      .filter((p) => p.url === 'item')
      .map((p) => p.valueString)
      .filter((v): v is string => v !== undefined);
    if (
      !score ||
      (method !== 'sum' && method !== 'mean') ||
      items.length === 0 ||
      minimum === undefined ||
      maximum === undefined ||
      meaningfulChange === undefined ||
      higherIsBetter === undefined
    ) {
      throw new DomainError(
        field,
        `${field} must give score, method (sum or mean), item, minimum, maximum, meaningfulChange and higherIsBetter`,
      );
    }
    return { score, method, items, minimum, maximum, meaningfulChange, higherIsBetter };
  });
}

function walk(items: QuestionnaireResponseItem[] | undefined, visit: (item: QuestionnaireResponseItem) => void): void {
  for (const item of items ?? []) {
    visit(item);
    walk(item.item, visit);
    for (const answer of item.answer ?? []) walk(answer.item, visit);
  }
}

/** Numeric answers by linkId, at any depth (integer, decimal, or a coded answer's ordinal value). */
export function numericAnswers(response: QuestionnaireResponse): Record<string, number> {
  const answers: Record<string, number> = {};
  walk(response.item, (item) => {
    const answer = item.answer?.[0];
    const value =
      answer?.valueInteger ??
      answer?.valueDecimal ??
      answer?.valueCoding?.extension?.find((e) => e.url === 'http://hl7.org/fhir/StructureDefinition/ordinalValue')
        ?.valueDecimal;
    if (value !== undefined) answers[item.linkId] = value;
  });
  return answers;
}
