import type {
  Coding,
  Questionnaire,
  QuestionnaireItem,
  QuestionnaireItemEnableWhen,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  QuestionnaireResponseItemAnswer,
} from 'fhir/r4.js';
import type { Issue } from '../outcome/errors.js';

/**
 * Checks a QuestionnaireResponse against its Questionnaire: unknown items, required items,
 * answer types, allowed options, value limits, repeats and enableWhen. Every issue points at
 * the response item (FHIRPath) and names its linkId, so a PHR app can show the person what
 * to fix.
 */
export function validateResponse(
  questionnaire: Questionnaire,
  response: QuestionnaireResponse,
  allowed: AllowedAnswers = new Map(),
): Issue[] {
  const walk: Walk = { answers: new Map(), issues: [], allowed };
  collectAnswers(response.item, walk.answers);
  checkItems(questionnaire.item ?? [], response.item ?? [], 'QuestionnaireResponse', walk);
  return walk.issues;
}

/** Codes known to be in each answerValueSet, by canonical URL (without version), as `system|code` (see codedAnswer). */
export type AllowedAnswers = ReadonlyMap<string, ReadonlySet<string>>;

interface Walk {
  answers: Map<string, QuestionnaireResponseItemAnswer[]>;
  issues: Issue[];
  allowed: AllowedAnswers;
}

/** How a code is looked up in AllowedAnswers. */
export function codedAnswer(system: string | undefined, code: string | undefined): string {
  return `${system ?? ''}|${code ?? ''}`;
}

/** Every value set the questionnaire's items take their answers from, by canonical URL (without version). */
export function answerValueSets(questionnaire: Questionnaire): string[] {
  const urls = new Set<string>();
  const visit = (items: QuestionnaireItem[] | undefined): void => {
    for (const item of items ?? []) {
      if (item.answerValueSet) urls.add(canonicalUrl(item.answerValueSet));
      visit(item.item);
    }
  };
  visit(questionnaire.item);
  return [...urls];
}

/** A coded answer to an item whose answers come from a value set: what has to be looked up before validating. */
export interface CodedAnswer {
  valueSet: string;
  system: string;
  code: string;
}

/** Every coded answer the response gives to an item with an answerValueSet (value set by canonical URL, without version). */
export function codedAnswers(questionnaire: Questionnaire, response: QuestionnaireResponse): CodedAnswer[] {
  const defs = new Map<string, QuestionnaireItem>();
  const index = (items: QuestionnaireItem[] | undefined): void => {
    for (const item of items ?? []) {
      defs.set(item.linkId, item);
      index(item.item);
    }
  };
  index(questionnaire.item);
  const found: CodedAnswer[] = [];
  const visit = (items: QuestionnaireResponseItem[] | undefined): void => {
    for (const item of items ?? []) {
      const valueSet = defs.get(item.linkId)?.answerValueSet;
      for (const answer of item.answer ?? []) {
        const { system, code } = answer.valueCoding ?? {};
        if (valueSet && system && code) found.push({ valueSet: canonicalUrl(valueSet), system, code });
        visit(answer.item);
      }
      visit(item.item);
    }
  };
  visit(response.item);
  return found;
}

function canonicalUrl(canonical: string): string {
  return canonical.split('|')[0] as string;
}

function collectAnswers(
  items: QuestionnaireResponseItem[] | undefined,
  into: Map<string, QuestionnaireResponseItemAnswer[]>,
): void {
  for (const item of items ?? []) {
    into.set(item.linkId, [...(into.get(item.linkId) ?? []), ...(item.answer ?? [])]);
    collectAnswers(item.item, into);
    for (const answer of item.answer ?? []) collectAnswers(answer.item, into);
  }
}

const VALUE_KEY: Partial<Record<QuestionnaireItem['type'], keyof QuestionnaireResponseItemAnswer>> = {
  boolean: 'valueBoolean',
  decimal: 'valueDecimal',
  integer: 'valueInteger',
  date: 'valueDate',
  dateTime: 'valueDateTime',
  time: 'valueTime',
  string: 'valueString',
  text: 'valueString',
  url: 'valueUri',
  choice: 'valueCoding',
  'open-choice': 'valueCoding',
  attachment: 'valueAttachment',
  reference: 'valueReference',
  quantity: 'valueQuantity',
};

function checkItems(defined: QuestionnaireItem[], given: QuestionnaireResponseItem[], path: string, walk: Walk): void {
  given.forEach((item, i) => {
    if (!defined.some((d) => d.linkId === item.linkId)) {
      walk.issues.push({
        code: 'structure',
        diagnostics: `Item '${item.linkId}' is not in the questionnaire at this level`,
        location: `${path}.item[${i}]`,
      });
    }
  });
  for (const def of defined) {
    const positions = given.map((g, i) => [g, i] as const).filter(([g]) => g.linkId === def.linkId);
    const enabled = isEnabled(def, walk.answers);
    if (!enabled) {
      for (const [, i] of positions) {
        walk.issues.push({
          code: 'business-rule',
          diagnostics: `Item '${def.linkId}' is not enabled by the earlier answers and must not be answered`,
          location: `${path}.item[${i}]`,
        });
      }
      continue;
    }
    if (positions.length === 0) {
      if (def.required)
        walk.issues.push({ code: 'required', diagnostics: `Item '${def.linkId}' is required`, location: path });
      continue;
    }
    if (positions.length > 1 && !def.repeats) {
      walk.issues.push({
        code: 'structure',
        diagnostics: `Item '${def.linkId}' appears more than once but does not repeat`,
        location: `${path}.item[${(positions[1] as readonly [QuestionnaireResponseItem, number])[1]}]`,
      });
    }
    for (const [item, i] of positions) checkItem(def, item, `${path}.item[${i}]`, walk);
  }
}

function checkItem(def: QuestionnaireItem, item: QuestionnaireResponseItem, path: string, walk: Walk): void {
  if (def.type === 'group' || def.type === 'display') {
    if (item.answer?.length)
      walk.issues.push({
        code: 'structure',
        diagnostics: `Item '${def.linkId}' is a ${def.type} and takes no answer`,
        location: `${path}.answer`,
      });
    checkItems(def.item ?? [], item.item ?? [], path, walk);
    return;
  }
  const given = item.answer ?? [];
  if (given.length === 0 && def.required)
    walk.issues.push({ code: 'required', diagnostics: `Item '${def.linkId}' is required`, location: path });
  if (given.length > 1 && !def.repeats)
    walk.issues.push({
      code: 'structure',
      diagnostics: `Item '${def.linkId}' takes one answer`,
      location: `${path}.answer[1]`,
    });
  given.forEach((answer, j) => checkAnswer(def, answer, `${path}.answer[${j}]`, walk));
}

function checkAnswer(def: QuestionnaireItem, answer: QuestionnaireResponseItemAnswer, path: string, walk: Walk): void {
  const key = VALUE_KEY[def.type];
  const present = Object.keys(answer).filter((k) => k.startsWith('value'));
  const openText = def.type === 'open-choice' && present.length === 1 && present[0] === 'valueString';
  if (!key || present.length !== 1 || (present[0] !== key && !openText)) {
    walk.issues.push({
      code: 'value',
      diagnostics: `Item '${def.linkId}' needs an answer of type ${def.type} (${key ?? 'none'})`,
      location: path,
    });
    return;
  }
  if (def.answerOption?.length && key === 'valueCoding' && !openText) {
    const given = answer.valueCoding as Coding;
    if (
      !def.answerOption.some(
        (o) => o.valueCoding?.code === given.code && (o.valueCoding?.system ?? given.system) === given.system,
      )
    ) {
      walk.issues.push({
        code: 'code-invalid',
        diagnostics: `Item '${def.linkId}': '${given.code ?? ''}' is not one of the allowed answers`,
        location: path,
      });
    }
  }
  if (def.answerValueSet && key === 'valueCoding' && !openText) {
    const given = answer.valueCoding as Coding;
    const codes = walk.allowed.get(canonicalUrl(def.answerValueSet));
    // The caller looks up the answers first (codedAnswers); a value set it did not look at is its mistake, not the answer's.
    if (!codes) throw new Error(`The answers of item '${def.linkId}' were not looked up for checking`);
    if (!codes.has(codedAnswer(given.system, given.code)))
      walk.issues.push({
        code: 'code-invalid',
        diagnostics: `Item '${def.linkId}': '${given.code ?? ''}' is not one of the allowed answers`,
        location: path,
      });
  }
  if (
    def.answerOption?.length &&
    key === 'valueInteger' &&
    !def.answerOption.some((o) => o.valueInteger === answer.valueInteger)
  ) {
    walk.issues.push({
      code: 'value',
      diagnostics: `Item '${def.linkId}': ${answer.valueInteger} is not one of the allowed answers`,
      location: path,
    });
  }
  const numeric = answer.valueInteger ?? answer.valueDecimal;
  if (numeric !== undefined) {
    const limit = (url: string) => def.extension?.find((e) => e.url === url);
    const min = limit('http://hl7.org/fhir/StructureDefinition/minValue');
    const max = limit('http://hl7.org/fhir/StructureDefinition/maxValue');
    const low = min?.valueInteger ?? min?.valueDecimal;
    const high = max?.valueInteger ?? max?.valueDecimal;
    if (low !== undefined && numeric < low)
      walk.issues.push({
        code: 'value',
        diagnostics: `Item '${def.linkId}': ${numeric} is below the minimum of ${low}`,
        location: path,
      });
    if (high !== undefined && numeric > high)
      walk.issues.push({
        code: 'value',
        diagnostics: `Item '${def.linkId}': ${numeric} is above the maximum of ${high}`,
        location: path,
      });
  }
}

/** enableWhen with enableBehavior all (default) or any; an item without conditions is always enabled. */
function isEnabled(def: QuestionnaireItem, answers: Map<string, QuestionnaireResponseItemAnswer[]>): boolean {
  const conditions = def.enableWhen ?? [];
  if (conditions.length === 0) return true;
  const results = conditions.map((c) => conditionHolds(c, answers.get(c.question) ?? []));
  return def.enableBehavior === 'any' ? results.some(Boolean) : results.every(Boolean);
}

function conditionHolds(c: QuestionnaireItemEnableWhen, given: QuestionnaireResponseItemAnswer[]): boolean {
  if (c.operator === 'exists') return given.length > 0 === (c.answerBoolean ?? true);
  const expected =
    c.answerBoolean ??
    c.answerInteger ??
    c.answerDecimal ??
    c.answerString ??
    c.answerDate ??
    c.answerDateTime ??
    c.answerCoding?.code;
  return given.some((a) => {
    const actual =
      a.valueBoolean ??
      a.valueInteger ??
      a.valueDecimal ??
      a.valueString ??
      a.valueDate ??
      a.valueDateTime ??
      a.valueCoding?.code;
    if (actual === undefined || expected === undefined) return false;
    switch (c.operator) {
      case '=':
        return actual === expected;
      case '!=':
        return actual !== expected;
      case '>':
        return actual > expected;
      case '<':
        return actual < expected;
      case '>=':
        return actual >= expected;
      case '<=':
        return actual <= expected;
      default:
        return false;
    }
  });
}
