import type { Bundle, FhirResource } from 'fhir/r4.js';
import type { ScenarioDomain } from '../support/scenarioDomain.js';
import * as careplan from '../../src/fhir/careplan.js';
import * as coverage from '../../src/fhir/coverage.js';
import * as goal from '../../src/fhir/goal.js';
import * as qr from '../../src/fhir/questionnaireResponse.js';
import * as task from '../../src/fhir/task.js';
import {
  fixtureBudgets,
  fixtureGoals,
  fixtureNeeds,
  fixturePlans,
  fixtureRequests,
  fixtureReviews,
} from '../support/planFixtures.js';
import { loadScenarios } from '../support/scenarios.js';
import { scenarioDomain } from '../support/scenarioDomain.js';
import { testStore, uniqueId } from '../support/hapi.js';
import { putEntry } from '../support/transactions.js';

const store = testStore(60000);

/** The scenario's objects with every id made unique to this run (ids all start with the scenario id). */
function uniqueDomain(scenarioId: string, domain: ScenarioDomain): ScenarioDomain {
  const prefix = uniqueId('pl');
  return JSON.parse(JSON.stringify(domain).replaceAll(`"${scenarioId}-`, `"${prefix}-`)) as ScenarioDomain;
}

/**
 * What HAPI stores must read back into the same domain objects (element ids, decimals and
 * timestamps survive). HAPI checks references on write, so the people and the journey the plan
 * points at are written first, minimally.
 */
describe.each(loadScenarios().map((s) => [s.id, s] as const))(
  'scenario %s stored in HAPI reads back unchanged',
  (scenarioId, scenario) => {
    it('budget, goals, plan, requests, needs and reviews', async () => {
      const d = uniqueDomain(scenarioId, scenarioDomain(scenario));
      const context: FhirResource[] = [
        { resourceType: 'Patient', id: d.holder.id, birthDate: d.holder.birthDate },
        { resourceType: 'Organization', id: d.icb.id, name: d.icb.name },
        { resourceType: 'Practitioner', id: d.coordinator.id },
        {
          resourceType: 'EpisodeOfCare',
          id: d.journey.id,
          status: 'active',
          patient: { reference: `Patient/${d.holder.id}` },
        },
      ];
      const planSide: FhirResource[] = [
        coverage.toFhir(d.budget),
        ...d.goals.map(goal.toFhir),
        careplan.toFhir(d.plan),
        ...d.requests.map(task.toFhir),
        ...(d.needs ? [qr.toFhir(d.needs)] : []),
        ...d.reviews.map(qr.toFhir),
      ];
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [...context, ...planSide].map(putEntry),
      };
      await store.transaction(bundle);

      expect(coverage.fromFhir(await store.read('Coverage', d.budget.id))).toEqual(d.budget);
      for (const g of d.goals) expect(goal.fromFhir(await store.read('Goal', g.id))).toEqual(g);
      expect(careplan.fromFhir(await store.read('CarePlan', d.plan.id))).toEqual(d.plan);
      for (const r of d.requests) expect(task.fromFhir(await store.read('Task', r.id))).toEqual(r);
      if (d.needs) expect(qr.fromFhir(await store.read('QuestionnaireResponse', d.needs.id))).toEqual(d.needs);
      for (const r of d.reviews) expect(qr.fromFhir(await store.read('QuestionnaireResponse', r.id))).toEqual(r);
    });
  },
);

it('the fixtures (every optional field filled) stored in HAPI read back unchanged', async () => {
  const prefix = uniqueId('fx');
  const unique = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll('"fx-', `"${prefix}-`)) as T;
  const [budgets, goals, plans, requests, needs, reviews] = [
    unique(fixtureBudgets),
    unique(fixtureGoals),
    unique(fixturePlans),
    unique(fixtureRequests),
    unique(fixtureNeeds),
    unique(fixtureReviews),
  ];
  const id = (name: string): string => `${prefix}-${name}`;
  const context: FhirResource[] = [
    { resourceType: 'Patient', id: id('person') },
    { resourceType: 'Organization', id: id('icb') },
    ...['cc', 'cc2', 'ler', 'lead', 'comm'].map((p): FhirResource => ({ resourceType: 'Practitioner', id: id(p) })),
    {
      resourceType: 'EpisodeOfCare',
      id: id('journey'),
      status: 'active',
      patient: { reference: `Patient/${id('person')}` },
    },
  ];
  const planSide: FhirResource[] = [
    ...budgets.map(coverage.toFhir),
    ...goals.map(goal.toFhir),
    ...plans.map(careplan.toFhir),
    ...requests.map(task.toFhir),
    ...needs.map(qr.toFhir),
    ...reviews.map(qr.toFhir),
  ];
  await store.transaction({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [...context, ...planSide].map(putEntry),
  });

  for (const b of budgets) expect(coverage.fromFhir(await store.read('Coverage', b.id))).toEqual(b);
  for (const g of goals) expect(goal.fromFhir(await store.read('Goal', g.id))).toEqual(g);
  for (const p of plans) expect(careplan.fromFhir(await store.read('CarePlan', p.id))).toEqual(p);
  for (const r of requests) expect(task.fromFhir(await store.read('Task', r.id))).toEqual(r);
  for (const n of needs) expect(qr.fromFhir(await store.read('QuestionnaireResponse', n.id))).toEqual(n);
  for (const r of reviews) expect(qr.fromFhir(await store.read('QuestionnaireResponse', r.id))).toEqual(r);
});
