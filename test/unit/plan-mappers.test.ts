import type { FhirResource } from 'fhir/r4.js';
import type { Review } from '../../src/domain/model.js';
import * as careplan from '../../src/fhir/careplan.js';
import * as coverage from '../../src/fhir/coverage.js';
import * as goal from '../../src/fhir/goal.js';
import * as qr from '../../src/fhir/questionnaireResponse.js';
import * as task from '../../src/fhir/task.js';
import { checkRow, domainValues, fieldPaths, readMappingTable } from '../support/mappingTables.js';
import { planSideObjects } from '../support/planFixtures.js';
import { domainError } from '../support/domainError.js';

const objects = planSideObjects();

/** Review.goalProgress is keyed by goal id; the table lists it as (goal, achievement) entries. */
function reviewView(review: Review): unknown {
  return {
    ...review,
    goalProgress: Object.entries(review.goalProgress).map(([goalId, achievement]) => ({ goal: goalId, achievement })),
  };
}

interface TableCase {
  table: string;
  objects: { id: string }[];
  toFhir: (x: never) => FhirResource;
  view?: (x: never) => unknown;
}

const cases: TableCase[] = [
  { table: 'budget', objects: objects.budgets, toFhir: coverage.toFhir },
  { table: 'plan', objects: objects.plans, toFhir: careplan.toFhir },
  { table: 'goal', objects: objects.goals, toFhir: goal.toFhir },
  { table: 'sign-off', objects: objects.requests, toFhir: task.toFhir },
  { table: 'needs', objects: objects.needs, toFhir: qr.toFhir },
  { table: 'review', objects: objects.reviews, toFhir: qr.toFhir, view: reviewView },
];

describe('plan-side mappers: from FHIR of to FHIR is the identity', () => {
  it.each(objects.budgets.map((b) => [b.id, b] as const))('budget %s', (_id, budget) => {
    expect(coverage.fromFhir(coverage.toFhir(budget))).toEqual(budget);
  });
  it.each(objects.plans.map((p) => [p.id, p] as const))('plan %s', (_id, plan) => {
    expect(careplan.fromFhir(careplan.toFhir(plan))).toEqual(plan);
  });
  it.each(objects.goals.map((g) => [g.id, g] as const))('goal %s', (_id, g) => {
    expect(goal.fromFhir(goal.toFhir(g))).toEqual(g);
  });
  it.each(objects.requests.map((r) => [r.id, r] as const))('spend request %s', (_id, request) => {
    expect(task.fromFhir(task.toFhir(request))).toEqual(request);
  });
  it.each(objects.needs.map((n) => [n.id, n] as const))('needs assessment %s', (_id, needs) => {
    expect(qr.fromFhir(qr.toFhir(needs))).toEqual(needs);
    expect(qr.needsFromFhir(qr.needsToFhir(needs))).toEqual(needs);
  });
  it.each(objects.reviews.map((r) => [r.id, r] as const))('review %s', (_id, review) => {
    expect(qr.fromFhir(qr.toFhir(review))).toEqual(review);
    expect(qr.reviewFromFhir(qr.reviewToFhir(review))).toEqual(review);
  });
  it('survives a JSON round trip (what HAPI stores is JSON)', () => {
    for (const budget of objects.budgets)
      expect(coverage.fromFhir(JSON.parse(JSON.stringify(coverage.toFhir(budget))))).toEqual(budget);
    for (const plan of objects.plans)
      expect(careplan.fromFhir(JSON.parse(JSON.stringify(careplan.toFhir(plan))))).toEqual(plan);
  });
});

describe.each(cases)('mapping table mappings/$table.md', ({ table, objects: list, toFhir, view }) => {
  const asView = (x: { id: string }): unknown => (view ? view(x as never) : x);

  it('has a row for every field the domain objects carry', async () => {
    const rows = await readMappingTable(table);
    const documented = new Set(rows.map((r) => r.field));
    const missing = [...new Set(list.flatMap((x) => fieldPaths(asView(x))))].filter((f) => !documented.has(f));
    expect(missing).toEqual([]);
  });

  it('every row holds for every object (scenarios and fixtures)', async () => {
    const rows = await readMappingTable(table);
    const problems = list.flatMap((x) => {
      const resources = [toFhir(x as never)];
      return rows
        .map((row) => checkRow(row, asView(x), resources))
        .filter((p): p is string => p !== undefined)
        .map((p) => `${x.id}: ${p}`);
    });
    expect(problems).toEqual([]);
  });

  it('every row is exercised by at least one object', async () => {
    const rows = await readMappingTable(table);
    const unexercised = rows
      .filter((row) => !list.some((x) => domainValues(asView(x), row.field).length > 0))
      .map((r) => r.field);
    expect(unexercised).toEqual([]);
  });
});

describe('reading FHIR refuses bad input, naming the field', () => {
  const budget = objects.budgets[0];
  const plan = objects.plans.find((p) => p.items.length > 0);
  const request = objects.requests.find((r) => r.decisions.length > 0);
  if (!budget || !plan || !request) throw new Error('fixtures missing');

  it('refuses Money that is not GBP', () => {
    const resource = coverage.toFhir(budget);
    const amount = resource.extension?.find((e) => e.url.endsWith('/phb-indicative-amount'));
    if (!amount?.valueMoney) throw new Error('no indicative amount');
    amount.valueMoney.currency = 'USD';
    const error = domainError(() => coverage.fromFhir(resource));
    expect(error.field).toBe('Coverage.extension:indicativeAmount');
    expect(error.message).toMatch(/must be in GBP \(got USD\)/);
  });

  it('refuses Money with a fraction of a penny', () => {
    const resource = careplan.toFhir(plan);
    const cost = resource.activity?.[0]?.detail?.extension?.find((e) => e.url.endsWith('/phb-activity-cost'));
    if (!cost?.valueMoney) throw new Error('no cost');
    cost.valueMoney.value = 12.345;
    expect(domainError(() => careplan.fromFhir(resource)).field).toBe('CarePlan.activity[0].detail.extension:cost');
  });

  it('refuses a Coverage without beneficiary', () => {
    const { beneficiary: _b, ...rest } = coverage.toFhir(budget);
    expect(domainError(() => coverage.fromFhir(rest as never)).field).toBe('Coverage.beneficiary');
  });

  it('refuses a Goal without description text', () => {
    const resource = goal.toFhir(
      objects.goals[0] ??
        (() => {
          throw new Error('no goal');
        })(),
    );
    resource.description = {};
    expect(domainError(() => goal.fromFhir(resource)).field).toBe('Goal.description.text');
  });

  it('refuses a cohort code from outside the cohort code system', () => {
    const resource = coverage.toFhir(budget);
    const cohort = resource.extension?.find((e) => e.url.endsWith('/phb-cohort'));
    if (!cohort) throw new Error('no cohort');
    cohort.valueCodeableConcept = {
      coding: [{ system: 'https://phb.fhir.example.org/CodeSystem/phb-cohort', code: 'pets' }],
    };
    expect(domainError(() => coverage.fromFhir(resource)).field).toBe('Coverage.extension:cohort');
  });

  it('refuses a Task that is not a spend sign-off, and a bad decision outcome', () => {
    expect(domainError(() => task.fromFhir({ ...task.toFhir(request), code: { text: 'other' } })).field).toBe(
      'Task.code',
    );
    const resource = task.toFhir(request);
    const outcome = resource.extension
      ?.find((e) => e.url.endsWith('/phb-sign-off-decision'))
      ?.extension?.find((e) => e.url === 'outcome');
    if (!outcome) throw new Error('no decision');
    outcome.valueCode = 'maybe';
    expect(domainError(() => task.fromFhir(resource)).field).toBe('Task.extension:decision[0].outcome');
  });

  it('refuses an impact answer outside 1 to 5, and a response to another questionnaire', () => {
    const review = objects.reviews.find((r) => r.impact);
    if (!review) throw new Error('no review with impact');
    const resource = qr.reviewToFhir(review);
    const confidence = resource.item?.find((i) => i.linkId === 'impact')?.item?.find((i) => i.linkId === 'confidence');
    if (!confidence) throw new Error('no confidence item');
    confidence.answer = [{ valueInteger: 6 }];
    expect(domainError(() => qr.reviewFromFhir(resource)).field).toBe(
      "QuestionnaireResponse.item('impact').item('confidence')",
    );
    const needs = objects.needs[0];
    if (!needs) throw new Error('no needs');
    expect(domainError(() => qr.reviewFromFhir(qr.needsToFhir(needs))).field).toBe(
      'QuestionnaireResponse.questionnaire',
    );
  });

  it('reads the standalone impact questionnaire with the same linkIds', () => {
    const answers = { confidence: 2, connected: 3, progressTowardGoals: 4, wellbeing: 5 } as const;
    const response = {
      resourceType: 'QuestionnaireResponse' as const,
      status: 'completed' as const,
      questionnaire: `${qr.QUESTIONNAIRES.impact}|0.1.0`,
      item: qr.impactItems(answers),
    };
    expect(qr.impactFromFhir(response)).toEqual(answers);
  });
});
