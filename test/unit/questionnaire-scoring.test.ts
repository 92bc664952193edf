import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CodeSystem, Questionnaire, QuestionnaireResponse } from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';
import { GOAL_ACHIEVEMENTS } from '../../src/domain/codes.js';
import { computeScore, scoresOf, scoreTrend, trendOver } from '../../src/domain/scores.js';
import { numericAnswers, scoringRules } from '../../src/fhir/questionnaire.js';
import * as answers from '../../src/fhir/questionnaireResponse.js';
import {
  answerValueSets,
  codedAnswer,
  validateResponse,
  type AllowedAnswers,
} from '../../src/fhir/questionnaireValidation.js';
import { loadScenarios } from '../support/scenarios.js';
import { scenarioDomain } from '../support/scenarioDomain.js';

const questionnaire = (id: string): Questionnaire =>
  JSON.parse(readFileSync(path.join(repoRoot, 'profiles', 'questionnaires', `${id}.json`), 'utf8')) as Questionnaire;

const review = questionnaire('phb-review');
const impact = questionnaire('phb-impact');

/** What HAPI's expansion of the review questionnaire's value sets gives: our review points, and base R4's goal achievement codes. */
const reviewCodes: AllowedAnswers = (() => {
  const points = JSON.parse(
    readFileSync(path.join(repoRoot, 'profiles', 'codesystems', 'review-point.json'), 'utf8'),
  ) as CodeSystem;
  const achievement = 'http://terminology.hl7.org/CodeSystem/goal-achievement';
  return new Map([
    [
      'https://phb.fhir.example.org/ValueSet/review-point',
      new Set((points.concept ?? []).map((c) => codedAnswer(points.url, c.code))),
    ],
    [
      'http://hl7.org/fhir/ValueSet/goal-achievement',
      new Set(GOAL_ACHIEVEMENTS.map((code) => codedAnswer(achievement, code))),
    ],
  ]);
})();

function impactResponse(values: Record<string, number | string>): QuestionnaireResponse {
  return {
    resourceType: 'QuestionnaireResponse',
    status: 'completed',
    questionnaire: impact.url,
    item: Object.entries(values).map(([linkId, v]) => ({
      linkId,
      answer: [typeof v === 'number' ? { valueInteger: v } : { valueString: v }],
    })),
  };
}

describe('scoring rules are data on the Questionnaire', () => {
  it('reads the impact total rule: sum of four items, 4-20, meaningful change 2', () => {
    expect(scoringRules(impact)).toEqual([
      {
        score: 'total',
        method: 'sum',
        items: ['confidence', 'connected', 'progressTowardGoals', 'wellbeing'],
        minimum: 4,
        maximum: 20,
        meaningfulChange: 2,
        higherIsBetter: true,
      },
    ]);
    expect(scoringRules(review).map((r) => r.score)).toEqual(['total']);
  });

  it('scores a set of answers once per rule whose items are all answered, the same for every face', () => {
    const rules = scoringRules(impact);
    const about = { budgetHolderId: 'p1', questionnaire: impact.url ?? '', time: '2026-02-01', responseId: 'qr1' };
    let n = 0;
    const ids = (): string => `s${++n}`;
    expect(scoresOf(rules, { confidence: 3, connected: 4, progressTowardGoals: 2, wellbeing: 5 }, about, ids)).toEqual([
      { ...about, id: 's1', score: 'total', value: 14 },
    ]);
    expect(scoresOf(rules, { confidence: 3, connected: 4 }, about, ids)).toEqual([]);
  });

  it('judges change against the threshold', () => {
    const [rule] = scoringRules(impact);
    if (!rule) throw new Error('no rule');
    expect(scoreTrend(rule, 10, 12).trend).toBe('improved');
    expect(scoreTrend(rule, 10, 11).trend).toBe('no-change');
    expect(scoreTrend(rule, 10, 8).trend).toBe('worse');
    expect(scoreTrend({ ...rule, higherIsBetter: false }, 10, 8).trend).toBe('improved');
    expect(computeScore(rule, { confidence: 1, connected: 2 })).toBeUndefined();
  });
});

describe('scenario impact answers give the expected trend', () => {
  const withTrend = loadScenarios().filter((s) => typeof s.expect.impactTrend === 'string');
  it.each(withTrend.map((s) => [s.id, s]))('%s', (_id, s) => {
    const d = scenarioDomain(s);
    const [rule] = scoringRules(review);
    if (!rule) throw new Error('no rule');
    const series = d.reviews
      .filter((r) => r.impact)
      .map((r) => {
        const response = answers.toFhir(r);
        const score = computeScore(rule, numericAnswers(response));
        if (score === undefined) throw new Error(`review ${r.point} has no full score`);
        return { time: r.completed, value: score };
      });
    expect(trendOver(rule, series)?.trend).toBe(s.expect.impactTrend);
    // The scenario's own reviews are valid answers to the review questionnaire.
    for (const r of d.reviews)
      expect(validateResponse(review, answers.toFhir(r) as QuestionnaireResponse, reviewCodes)).toEqual([]);
  });

  it('checks a choice answer against the value set the item takes its answers from', () => {
    expect(answerValueSets(review).sort()).toEqual([...reviewCodes.keys()].sort());
    const first = withTrend.flatMap((s) => scenarioDomain(s).reviews)[0];
    if (!first) throw new Error('no scenario review');
    const response = answers.toFhir(first) as QuestionnaireResponse;
    const point = response.item?.findIndex((i) => i.linkId === 'review-point') ?? -1;
    expect(point).toBeGreaterThanOrEqual(0);
    const item = response.item?.[point];
    if (!item?.answer?.[0]?.valueCoding) throw new Error('no review point answer');
    item.answer[0].valueCoding = { ...item.answer[0].valueCoding, code: 'half-way-ish' };
    expect(validateResponse(review, response, reviewCodes)).toEqual([
      {
        code: 'code-invalid',
        diagnostics: "Item 'review-point': 'half-way-ish' is not one of the allowed answers",
        location: `QuestionnaireResponse.item[${point}].answer[0]`,
      },
    ]);
    // Without looking the answers up nothing can be checked, which is the caller's mistake, not the person's.
    expect(() => validateResponse(review, response)).toThrow(/not looked up/);
  });
});

describe('checking an answer against its Questionnaire', () => {
  it('accepts a complete impact response', () => {
    expect(
      validateResponse(impact, impactResponse({ confidence: 3, connected: 4, progressTowardGoals: 2, wellbeing: 5 })),
    ).toEqual([]);
  });

  it('names a missing required item', () => {
    const issues = validateResponse(impact, impactResponse({ confidence: 3, connected: 4, progressTowardGoals: 2 }));
    expect(issues).toEqual([
      { code: 'required', diagnostics: "Item 'wellbeing' is required", location: 'QuestionnaireResponse' },
    ]);
  });

  it('points at an answer out of range and an answer of the wrong type', () => {
    const issues = validateResponse(
      impact,
      impactResponse({ confidence: 7, connected: 'four', progressTowardGoals: 2, wellbeing: 5 }),
    );
    expect(issues).toEqual([
      {
        code: 'value',
        diagnostics: "Item 'confidence': 7 is above the maximum of 5",
        location: 'QuestionnaireResponse.item[0].answer[0]',
      },
      {
        code: 'value',
        diagnostics: "Item 'connected' needs an answer of type integer (valueInteger)",
        location: 'QuestionnaireResponse.item[1].answer[0]',
      },
    ]);
  });

  it('refuses items the questionnaire does not have, and repeated answers to a single item', () => {
    const response = impactResponse({ confidence: 3, connected: 4, progressTowardGoals: 2, wellbeing: 5, mood: 3 });
    (response.item?.[0]?.answer ?? []).push({ valueInteger: 4 });
    const issues = validateResponse(impact, response);
    expect(issues.map((i) => [i.code, i.location])).toEqual([
      ['structure', 'QuestionnaireResponse.item[4]'],
      ['structure', 'QuestionnaireResponse.item[0].answer[1]'],
    ]);
  });

  it('follows enableWhen: a disabled item must not be answered, and is not required', () => {
    const q: Questionnaire = {
      resourceType: 'Questionnaire',
      status: 'active',
      item: [
        { linkId: 'worried', type: 'boolean', required: true },
        {
          linkId: 'what-worries',
          type: 'string',
          required: true,
          enableWhen: [{ question: 'worried', operator: '=', answerBoolean: true }],
        },
        {
          linkId: 'kind',
          type: 'choice',
          answerOption: [
            { valueCoding: { system: 'urn:x', code: 'a' } },
            { valueCoding: { system: 'urn:x', code: 'b' } },
          ],
        },
      ],
    };
    const r = (items: QuestionnaireResponse['item']): QuestionnaireResponse => ({
      resourceType: 'QuestionnaireResponse',
      status: 'completed',
      item: items,
    });
    expect(validateResponse(q, r([{ linkId: 'worried', answer: [{ valueBoolean: false }] }]))).toEqual([]);
    expect(validateResponse(q, r([{ linkId: 'worried', answer: [{ valueBoolean: true }] }]))[0]).toMatchObject({
      code: 'required',
      diagnostics: "Item 'what-worries' is required",
    });
    expect(
      validateResponse(
        q,
        r([
          { linkId: 'worried', answer: [{ valueBoolean: false }] },
          { linkId: 'what-worries', answer: [{ valueString: 'x' }] },
        ]),
      )[0],
    ).toMatchObject({ code: 'business-rule', location: 'QuestionnaireResponse.item[1]' });
    expect(
      validateResponse(
        q,
        r([
          { linkId: 'worried', answer: [{ valueBoolean: false }] },
          { linkId: 'kind', answer: [{ valueCoding: { system: 'urn:x', code: 'z' } }] },
        ]),
      )[0],
    ).toMatchObject({ code: 'code-invalid', location: 'QuestionnaireResponse.item[1].answer[0]' });
  });
});
