import { checkSearch } from '../../src/api/fhir/search.js';
import { servedType } from '../../src/api/fhir/served.js';
import { checkOwnGoalChange } from '../../src/domain/goals.js';
import { collapseTargets, parseTarget, requestKey } from '../../src/domain/questionnaireRequests.js';
import { budgetPosition, summarise } from '../../src/domain/summary.js';
import { trendsBySeries, type QuestionnaireScore, type ScoringRule } from '../../src/domain/scores.js';
import type { RecoveryGoal } from '../../src/domain/model.js';
import * as goal from '../../src/fhir/goal.js';
import * as observation from '../../src/fhir/observation.js';
import { AppError } from '../../src/outcome/errors.js';
import { checkRow, readMappingTable } from '../support/mappingTables.js';

const carePlan = servedType('CarePlan');
if (!carePlan) throw new Error('CarePlan is served');

describe('search allow-list', () => {
  it('takes the compartment parameter out and keeps the allowed ones', () => {
    expect(
      checkSearch(carePlan, { subject: 'Patient/p1', status: 'active', _include: 'CarePlan:goal', _count: '5' }),
    ).toEqual({
      patientId: 'p1',
      params: { status: 'active', _include: ['CarePlan:goal'] },
      includedTypes: ['Goal'],
      count: 5,
      offset: 0,
    });
  });

  it.each([
    [{ 'care-team': 'x' }, /cannot be searched by care-team/],
    [{ 'subject.name': 'x' }, /Chained/],
    [{ 'status:not': 'x' }, /modifiers/],
    [{ _include: 'CarePlan:care-team' }, /not supported/],
    [{ patient: 'p1', subject: 'Patient/p2' }, /more than one patient/],
    [{ patient: 'p1,p2' }, /names one patient/],
    [{ _count: '101' }, /_count/],
    [{ _sort: 'name' }, /Cannot sort by name/],
    [{ _sort: 'goal' }, /Cannot sort by goal \(supported: _id, _lastUpdated, status, intent, category, date\)/],
    [{ date: 'notadate' }, /^date=notadate is not a date/],
    [{ _lastUpdated: ['ge2026-01-01', 'lt2026-02'], date: 'ge2026-01-01T10' }, /^date=ge2026-01-01T10 is not a date/],
    [{ _lastUpdated: 'gt' }, /^_lastUpdated=gt is not a date/],
    [{ status: '' }, /status has an empty value/],
  ])('refuses %j', (query, message) => {
    let error: unknown;
    try {
      checkSearch(carePlan, query);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(400);
    expect((error as AppError).message).toMatch(message);
  });
});

describe('search values in the form their type needs', () => {
  it.each([
    '2026',
    '2026-03',
    'ge2026-03-04',
    'lt2026-03-04T10:00:00Z',
    'sa2026-03-04T10:00:00.123+01:00',
    'eq2026-03-04,ne2026-03-05',
  ])('takes date %s', (value) => {
    expect(checkSearch(carePlan, { date: value }).params).toEqual({ date: value });
  });
});

describe('budget position and current PHB', () => {
  it('works in pence: remaining is the agreed amount less what was spent', () => {
    expect(
      budgetPosition({ indicative: 50000, agreed: 45000 }, [{ amount: 42000 }], [{ amount: 39999 }, { amount: 1 }]),
    ).toEqual({ indicative: 50000, agreed: 45000, paid: 42000, spent: 40000, remaining: 5000 });
    expect(budgetPosition({ indicative: 1000 }, [], [{ amount: 1500 }]).remaining).toBe(-500);
  });

  it('picks the open journey and its agreed plan', () => {
    const journey = (id: string, start: string, stage: 'active' | 'closed') => ({
      id,
      budgetHolderId: 'p',
      kind: 'one-off' as const,
      cohort: 'other' as const,
      stage,
      eligibility: { eligible: true, rightToHave: false },
      start,
    });
    const plan = (id: string, journeyId: string, status: 'draft' | 'active') => ({
      id,
      journeyId,
      budgetHolderId: 'p',
      budgetId: 'b',
      status,
      title: 't',
      goalIds: [],
      items: [],
      created: '2026-01-01',
    });
    const s = summarise({
      budgetHolderId: 'p',
      journeys: [journey('old', '2025-01-01', 'closed'), journey('now', '2026-01-01', 'active')],
      plans: [plan('d', 'now', 'draft'), plan('a', 'now', 'active'), plan('x', 'old', 'active')],
      goals: [],
      budgets: [],
      payments: [],
      spend: [],
      requests: [],
      trends: [],
    });
    expect([s.journey?.id, s.plan?.id]).toEqual(['now', 'a']);
  });
});

describe('score trends per journey and questionnaire', () => {
  const rule: ScoringRule = {
    score: 'total',
    method: 'sum',
    items: ['a'],
    minimum: 4,
    maximum: 20,
    meaningfulChange: 2,
    higherIsBetter: true,
  };
  const score = (id: string, time: string, value: number, journeyId = 'j1'): QuestionnaireScore => ({
    id,
    budgetHolderId: 'p',
    journeyId,
    questionnaire: 'q',
    score: 'total',
    value,
    time,
    responseId: `r-${id}`,
  });
  it('judges start to latest with the questionnaire threshold', () => {
    const [t] = trendsBySeries(
      [score('b', '2026-03-01', 9), score('a', '2026-01-01', 7), score('c', '2026-02-01', 12)],
      () => rule,
    );
    expect(t).toMatchObject({
      count: 3,
      latest: { value: 9, id: 'b' },
      change: { first: 7, latest: 9, change: 2, trend: 'improved' },
    });
    const [flat] = trendsBySeries([score('a', '2026-01-01', 7), score('b', '2026-03-01', 8)], () => rule);
    expect(flat?.change?.trend).toBe('no-change');
  });
  it('keeps journeys apart and reports a single score without a trend', () => {
    const trends = trendsBySeries([score('a', '2026-01-01', 7, 'j1'), score('b', '2026-02-01', 15, 'j2')], () => rule);
    expect(trends.map((t) => [t.journeyId, t.change])).toEqual([
      ['j1', undefined],
      ['j2', undefined],
    ]);
  });
});

describe('score Observation', () => {
  const score: QuestionnaireScore = {
    id: 'o1',
    budgetHolderId: 'p1',
    journeyId: 'j1',
    questionnaire: 'https://phb.fhir.example.org/Questionnaire/phb-impact',
    questionnaireVersion: '0.1.0',
    score: 'total',
    value: 14,
    time: '2026-02-01T10:00:00Z',
    responseId: 'r1',
    requestId: 's1',
  };
  it('round-trips and follows mappings/score.md', async () => {
    const resource = observation.toFhir(score);
    expect(observation.isScore(resource)).toBe(true);
    expect(observation.fromFhir(resource)).toEqual(score);
    const rows = await readMappingTable('score');
    const problems = rows
      .map((row) => checkRow(row, { ...score, questionnaire: `${score.questionnaire}|0.1.0` }, [resource]))
      .filter(Boolean);
    expect(problems).toEqual([]);
  });
});

describe('questionnaire request targets (PKB)', () => {
  it('collapses duplicates and reports unusable targets by position', () => {
    const given = [
      parseTarget({ patientId: 'a' }),
      parseTarget({ nhsNumber: '999 007 9196' }),
      parseTarget({ patientId: 'a' }),
      parseTarget({ nhsNumber: '1234567890' }),
      parseTarget({}),
    ];
    const { targets, problems } = collapseTargets(given);
    expect(targets.map((t) => t.index)).toEqual([0, 1]);
    expect(problems.map((p) => p.index)).toEqual([3, 4]);
  });
  it('keys one open request per questionnaire, person and client key', () => {
    expect(requestKey('q', 'p')).toBe(requestKey('q', 'p'));
    expect(requestKey('q', 'p', 'round-1')).not.toBe(requestKey('q', 'p'));
  });
});

describe("the budget holder's own goal changes", () => {
  const current: RecoveryGoal = {
    id: 'g',
    budgetHolderId: 'p',
    text: 'I want to',
    lifecycle: 'active',
    start: '2026-01-01',
    notes: [{ text: 'first', time: '2026-01-02T00:00:00Z' }],
  };
  it('allows a new note at the end', () => {
    expect(() =>
      checkOwnGoalChange(current, {
        ...current,
        notes: [...current.notes, { text: 'second', time: '2026-01-03T00:00:00Z' }],
      }),
    ).not.toThrow();
  });
  it('refuses changing or dropping an earlier note', () => {
    expect(() => checkOwnGoalChange(current, { ...current, notes: [] })).toThrow(/Goal.note\[0\]/);
    expect(() =>
      checkOwnGoalChange(current, { ...current, notes: [{ text: 'edited', time: '2026-01-02T00:00:00Z' }] }),
    ).toThrow(/earlier notes/);
  });
  it('finds changed elements whatever the key order', () => {
    const a = goal.toFhir(current);
    const { subject, ...others } = a;
    const reordered = JSON.parse(JSON.stringify({ subject, ...others }));
    expect(goal.changedElements(a, reordered)).toEqual([]);
    expect(goal.changedElements(a, { ...a, lifecycleStatus: 'completed', meta: {} })).toEqual(['lifecycleStatus']);
  });
});
