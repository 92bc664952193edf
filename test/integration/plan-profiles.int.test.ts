import path from 'node:path';
import type { Coverage, FhirResource, Goal, Task } from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';
import { readConformanceFiles } from '../../src/conformance/files.js';
import { loadConformance } from '../../src/conformance/loader.js';
import * as careplan from '../../src/fhir/careplan.js';
import * as coverage from '../../src/fhir/coverage.js';
import * as goal from '../../src/fhir/goal.js';
import * as qr from '../../src/fhir/questionnaireResponse.js';
import * as task from '../../src/fhir/task.js';
import { planSideObjects } from '../support/planFixtures.js';
import { testStore } from '../support/hapi.js';
import { describeIssues, validationErrors } from '../support/validation.js';

const store = testStore(60000);
const objects = planSideObjects();

async function errorsOf(resource: FhirResource, profile: string): Promise<string[]> {
  return describeIssues(validationErrors(await store.validate(resource, profile)));
}

beforeAll(async () => {
  await loadConformance(store, await readConformanceFiles(path.join(repoRoot, 'profiles')));
});

describe('every resource the plan-side mappers produce passes $validate against its profile', () => {
  const all: [string, FhirResource, string][] = [
    ...objects.budgets.map(
      (b) => [`Coverage ${b.id}`, coverage.toFhir(b), coverage.PROFILE] as [string, FhirResource, string],
    ),
    ...objects.plans.map(
      (p) => [`CarePlan ${p.id}`, careplan.toFhir(p), careplan.PROFILE] as [string, FhirResource, string],
    ),
    ...objects.goals.map((g) => [`Goal ${g.id}`, goal.toFhir(g), goal.PROFILE] as [string, FhirResource, string]),
    ...objects.requests.map((r) => [`Task ${r.id}`, task.toFhir(r), task.PROFILE] as [string, FhirResource, string]),
    ...objects.needs.map(
      (n) => [`QuestionnaireResponse ${n.id}`, qr.toFhir(n), qr.PROFILE] as [string, FhirResource, string],
    ),
    ...objects.reviews.map(
      (r) => [`QuestionnaireResponse ${r.id}`, qr.toFhir(r), qr.PROFILE] as [string, FhirResource, string],
    ),
  ];
  it.each(all)('%s', async (_name, resource, profile) => {
    expect(await errorsOf(resource, profile)).toEqual([]);
  });
});

describe('deliberately broken resources fail $validate with the expected message', () => {
  const budget = objects.budgets[0];
  const request = objects.requests.find((r) => r.decisions.some((d) => d.outcome === 'decline'));
  const review = objects.reviews.find((r) => r.impact);
  const aGoal = objects.goals[0];
  if (!budget || !request || !review || !aGoal) throw new Error('fixtures missing');

  it('a Coverage without beneficiary', async () => {
    const { beneficiary: _b, ...broken } = coverage.toFhir(budget);
    const errors = await errorsOf(broken as Coverage, coverage.PROFILE);
    expect(errors.join('\n')).toMatch(/Coverage\.beneficiary: minimum required = 1, but only found 0/);
  });

  it('Money without GBP', async () => {
    const broken = coverage.toFhir(budget);
    const amount = broken.extension?.find((e) => e.url.endsWith('/phb-indicative-amount'));
    if (!amount?.valueMoney) throw new Error('no indicative amount');
    amount.valueMoney.currency = 'EUR';
    const errors = await errorsOf(broken, coverage.PROFILE);
    expect(errors.join('\n')).toMatch(/Value is 'EUR' but is fixed to 'GBP'/);
  });

  it('Money with no currency at all', async () => {
    const broken = coverage.toFhir(budget);
    const amount = broken.extension?.find((e) => e.url.endsWith('/phb-indicative-amount'));
    if (!amount?.valueMoney) throw new Error('no indicative amount');
    delete amount.valueMoney.currency;
    const errors = await errorsOf(broken, coverage.PROFILE);
    expect(errors.join('\n')).toMatch(/currency: minimum required = 1, but only found 0/);
  });

  it('a calculation line whose kind is not in the calculation-line-kind value set', async () => {
    const pa = objects.budgets.find((b) => b.calculationLines?.length);
    if (!pa) throw new Error('no budget with calculation lines');
    const broken = coverage.toFhir(pa);
    const line = broken.extension?.find((e) => e.url.endsWith('/phb-budget-calculation-line'));
    const kind = line?.extension?.find((e) => e.url === 'kind')?.valueCoding;
    if (!kind) throw new Error('no calculation line kind');
    kind.code = 'holiday-pay';
    const errors = await errorsOf(broken, coverage.PROFILE);
    expect(errors.join('\n')).toMatch(/holiday-pay/);
  });

  it('a Goal with no description', async () => {
    const { description: _d, ...broken } = goal.toFhir(aGoal);
    const errors = await errorsOf(broken as Goal, goal.PROFILE);
    expect(errors.join('\n')).toMatch(/Goal\.description: minimum required = 1, but only found 0/);
  });

  it('a Goal whose description has no text (coded only)', async () => {
    const broken = goal.toFhir(aGoal);
    broken.description = { coding: [{ system: 'http://snomed.info/sct', code: '736366004' }] };
    const errors = await errorsOf(broken, goal.PROFILE);
    expect(errors.join('\n')).toMatch(/Goal\.description\.text: minimum required = 1, but only found 0/);
  });

  it('a decline without alternatives', async () => {
    const broken = task.toFhir(request);
    const decision = broken.extension?.find((e) => e.url.endsWith('/phb-sign-off-decision'));
    if (!decision?.extension) throw new Error('no decision');
    decision.extension = decision.extension.filter((e) => e.url !== 'alternatives');
    const errors = await errorsOf(broken, task.PROFILE);
    expect(errors.join('\n')).toMatch(/phb-decision-1/);
  });

  it('a refused request without a reason', async () => {
    const refused = objects.requests.find((r) => r.status === 'refused');
    if (!refused) throw new Error('no refused request');
    const { statusReason: _s, ...broken } = task.toFhir(refused);
    const errors = await errorsOf(broken as Task, task.PROFILE);
    expect(errors.join('\n')).toMatch(/phb-task-1/);
  });

  it('a request signed off in a role that cannot sign', async () => {
    const broken = task.toFhir({ ...request, requiredRoles: ['phb-advisor' as never] });
    const errors = await errorsOf(broken, task.PROFILE);
    expect(errors.join('\n')).toMatch(/phb-advisor/);
  });

  it('an impact answer outside 1 to 5', async () => {
    const broken = qr.toFhir(review);
    const confidence = broken.item?.find((i) => i.linkId === 'impact')?.item?.find((i) => i.linkId === 'confidence');
    if (!confidence) throw new Error('no confidence item');
    confidence.answer = [{ valueInteger: 7 }];
    const errors = await errorsOf(broken, qr.PROFILE);
    expect(errors.join('\n')).toMatch(/The value 7 is greater than the allowed maximum of 5/);
  });
});
