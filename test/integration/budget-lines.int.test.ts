import type request from 'supertest';
import type { Bundle, Coverage } from 'fhir/r4.js';
import type { Role } from '../../src/auth/caller.js';
import { createAuthWorld, type AuthWorld } from '../support/authWorld.js';
import {
  eligibleJourney,
  journeyPeople,
  postAs,
  storeSubmitter,
  submitterToken,
  type JourneyPeople,
} from '../support/journeyDriver.js';

/**
 * Step 3 for a budget that pays a personal assistant: the calculation lines, with each employment
 * on-cost on a line of its own, over HTTP with real tokens against the real HAPI.
 */
const LINES = [
  { kind: 'personal-assistant-pay', description: '15 hours a week at 1950 per hour for 52 weeks', amount: 1521000 },
  { kind: 'employer-national-insurance', amount: 90000 },
  { kind: 'employer-pension', description: '3% of qualifying earnings', amount: 40000 },
  { kind: 'training', amount: 30000 },
  { kind: 'employer-liability-insurance', amount: 15000 },
  { kind: 'payroll-service', amount: 24000 },
  { kind: 'contingency', description: 'Cover for holiday and sickness', amount: 80000 },
];
const TOTAL = LINES.reduce((sum, line) => sum + line.amount, 0);

describe('/api/v1 budget: calculation lines for a personal assistant', () => {
  let world: AuthWorld;
  let people: JourneyPeople;
  let submitter: string;
  let coordinator = '';
  let holderId = '';
  let journeyId = '';
  let budgetPath = '';

  const post = async (who: Role | 'submitter', path: string, body: unknown): Promise<request.Response> =>
    postAs(world.app, who === 'submitter' ? submitter : coordinator, path, body);
  const coverages = async (): Promise<number> =>
    ((await world.store.search('Coverage', { beneficiary: `Patient/${holderId}`, _summary: 'count' })) as Bundle)
      .total ?? -1;
  const budget = (calculationLines: unknown[], indicative = TOTAL) => ({
    indicative,
    calculation: 'A personal assistant 15 hours a week, with the costs of employing them',
    calculationLines,
    managementOption: 'direct-payment',
    split: { 'direct-payment': indicative },
    start: '2026-02-02',
  });

  beforeAll(async () => {
    people = journeyPeople(0);
    world = await createAuthWorld({ extraUsers: people.users });
    await storeSubmitter(world.store, people);
    submitter = await submitterToken(world, people);
    coordinator = await world.token('care-coordinator');
    ({ holderId, journeyId } = await eligibleJourney(world, people, submitter, coordinator, {
      name: 'Employer Tester',
      birthDate: '1975-05-05',
      kind: 'ongoing',
      cohort: 'nhs-continuing-healthcare',
    }));
    budgetPath = `/budget-holders/${holderId}/journeys/${journeyId}/budget`;
  });
  afterAll(async () => world.close());

  const problemAt = (res: request.Response, pointer: string): string => {
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const errors = res.body.errors as { pointer?: string; detail?: string }[];
    expect(errors.map((e) => e.pointer)).toEqual([pointer]);
    return JSON.stringify(res.body);
  };

  it('lines that do not add up are 422 naming the lines and the gap, and write nothing', async () => {
    const short = problemAt(
      await post('care-coordinator', budgetPath, budget(LINES, TOTAL + 5000)),
      '/calculationLines',
    );
    expect(short).toContain('£50.00 less than the indicative budget of £18,050.00');
    expect(await coverages()).toBe(0);
  });

  it('an on-cost with no personal assistant to employ is 422 naming that line, and writes nothing', async () => {
    const noPay = LINES.filter((line) => line.kind !== 'personal-assistant-pay');
    const total = noPay.reduce((sum, line) => sum + line.amount, 0);
    const body = problemAt(
      await post('care-coordinator', budgetPath, budget(noPay, total)),
      '/calculationLines/0/kind',
    );
    expect(body).toContain('employer-national-insurance is an employment on-cost');
    expect(await coverages()).toBe(0);
  });

  it('a line of no money is 400 naming its amount', async () => {
    const zero = LINES.map((line, i) => (i === 2 ? { ...line, amount: 0 } : line));
    const res = await post('care-coordinator', budgetPath, budget(zero));
    expect(res.status).toBe(400);
    expect((res.body.errors as { pointer?: string }[]).map((e) => e.pointer)).toContain('/calculationLines/2/amount');
  });

  it('lines that add up are 201, returned in order, and stored on the Coverage', async () => {
    const res = await post('care-coordinator', budgetPath, budget(LINES));
    expect(res.status).toBe(201);
    expect(res.body.indicative).toBe(TOTAL);
    expect(res.body.calculationLines).toEqual(LINES);
    expect(await coverages()).toBe(1);
    const stored = await world.store.read<Coverage>('Coverage', res.body.id);
    const lines = (stored.extension ?? []).filter((e) => e.url.endsWith('/phb-budget-calculation-line'));
    expect(lines).toHaveLength(LINES.length);
  });
});
