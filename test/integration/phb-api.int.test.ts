import request from 'supertest';
import type { Bundle, Provenance } from 'fhir/r4.js';
import type { Role } from '../../src/auth/caller.js';
import { SYSTEMS } from '../../src/fhir/common.js';
import { createAuthWorld, type AuthWorld } from '../support/authWorld.js';
import { journeyPeople, postAs, storeSubmitter, submitterToken, type JourneyPeople } from '../support/journeyDriver.js';
import { uniqueId, freshNhsNumber } from '../support/hapi.js';

/**
 * The sign-off tiers at their boundaries, two signers racing, retried POSTs, and bad input, all
 * over HTTP with real tokens against the real HAPI.
 */
const RACES = 50;
const BOUNDARIES = [25000, 25001, 75000, 75001] as const;
const EXPECTED: Record<number, string[]> = {
  25000: ['care-coordinator'],
  25001: ['care-coordinator', 'team-lead'],
  75000: ['care-coordinator', 'team-lead'],
  75001: ['commissioner', 'lived-experience-reviewer', 'phb-lead-clinician'],
};

describe('/api/v1: sign-off boundaries, races, idempotency and bad input', () => {
  let world: AuthWorld;
  let people: JourneyPeople;
  let submitter: string;
  const tokens = new Map<Role, string>();
  let holderId = '';
  let journeyPath = '';

  const token = async (role: Role): Promise<string> => {
    const known = tokens.get(role) ?? (await world.token(role));
    tokens.set(role, known);
    return known;
  };
  const post = async (who: Role | 'submitter', path: string, body: unknown, key?: string): Promise<request.Response> =>
    postAs(world.app, who === 'submitter' ? submitter : await token(who), path, body, key);
  const get = async (who: Role, path: string): Promise<request.Response> =>
    request(world.app)
      .get(`/api/v1${path}`)
      .set('Authorization', `Bearer ${await token(who)}`);
  const count = async (type: string, params: Record<string, string>): Promise<number> =>
    ((await world.store.search(type as 'Task', { ...params, _summary: 'count' })) as Bundle).total ?? -1;

  beforeAll(async () => {
    people = journeyPeople(0);
    world = await createAuthWorld({ extraUsers: people.users });
    await storeSubmitter(world.store, people);
    submitter = await submitterToken(world, people);
    const referral = await post('submitter', '/referrals', {
      person: { nhsNumber: freshNhsNumber(), name: 'Boundary Tester', birthDate: '1980-02-02' },
      kind: 'one-off',
      cohort: 'mental-health-recovery',
      start: '2026-01-05',
      careTeam: [...Object.values(world.staffRoleIds), people.submitterRoleId],
    });
    expect(referral.status).toBe(201);
    holderId = referral.body.budgetHolderId;
    journeyPath = `/budget-holders/${holderId}/journeys/${referral.body.id}`;
    expect(
      (await post('care-coordinator', `${journeyPath}/eligibility`, { eligible: true, decidedOn: '2026-01-06' }))
        .status,
    ).toBe(200);
    expect(
      (
        await post('care-coordinator', `${journeyPath}/budget`, {
          indicative: 5000000,
          managementOption: 'direct-payment',
          split: { 'direct-payment': 5000000 },
          start: '2026-01-07',
        })
      ).status,
    ).toBe(201);
    const items = [
      ...BOUNDARIES.map((cost) => ({
        id: `b${cost}`,
        description: `Item at ${cost}`,
        category: 'education-and-training',
        cost,
        goals: ['g1'],
      })),
      ...Array.from({ length: RACES + 2 }, (_, i) => ({
        id: `race${i}`,
        description: `Race item ${i}`,
        category: 'sport-and-fitness',
        cost: 30000,
        goals: ['g1'],
      })),
    ];
    const plan = await post('care-coordinator', `${journeyPath}/plan`, {
      goals: [{ key: 'g1', text: 'I want to get back to work.' }],
      items,
      created: '2026-01-07T10:00:00Z',
    });
    expect(plan.status).toBe(201);
  }, 120000);
  afterAll(async () => world.close());

  it.each(BOUNDARIES.map((b) => [b]))('a request for exactly %i pence gets the right signers', async (amount) => {
    const res = await post('submitter', `${journeyPath}/spend-requests`, { itemId: `b${amount}` });
    expect(res.status).toBe(201);
    expect([...res.body.requiredRoles].sort()).toEqual(EXPECTED[amount]);
    expect(res.body).toMatchObject({ amount, status: 'requested' });
  });

  it(`two approvers deciding the same request at once: exactly one decision stands, the other gets 409 (${RACES} times)`, async () => {
    const started = Date.now();
    let conflicts = 0;
    for (let i = 0; i < RACES; i++) {
      const submitted = await post('submitter', `${journeyPath}/spend-requests`, { itemId: `race${i}` });
      expect(submitted.status).toBe(201);
      const etag = submitted.headers.etag as string;
      const decide = async (role: Role): Promise<request.Response> =>
        request(world.app)
          .post(`/api/v1${journeyPath}/spend-requests/${submitted.body.id}/decisions`)
          .set('Authorization', `Bearer ${await token(role)}`)
          .set('Idempotency-Key', uniqueId('race'))
          .set('If-Match', etag)
          .send({ outcome: 'approve', rationale: 'Fits the plan' });
      const [a, b] = await Promise.all([decide('care-coordinator'), decide('team-lead')]);
      const statuses = [a.status, b.status].sort();
      expect(statuses).toEqual([201, 409]);
      const lost = a.status === 409 ? a : b;
      expect(lost.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(lost.body).toMatchObject({ status: 409, title: 'conflict' });
      conflicts++;
      const after = await get('care-coordinator', `${journeyPath}/spend-requests/${submitted.body.id}`);
      expect(after.body.decisions).toHaveLength(1);
      // One decision Provenance for the request, besides the write Provenances.
      const provenances = await world.store.search<Provenance>('Provenance', {
        target: `Task/${submitted.body.id}`,
        _count: 50,
      });
      const decisions = (provenances.entry ?? []).filter((e) =>
        e.resource?.activity?.coding?.some((c) => c.system === SYSTEMS.codeSystem('sign-off-outcome')),
      );
      expect(decisions).toHaveLength(1);
    }
    process.stdout.write(
      `race: ${RACES} rounds, ${conflicts} conflicts (one 201 + one 409 each), ${Date.now() - started} ms\n`,
    );
  }, 240000);

  it('an appeal reopens a decline, keeps the declined round in HAPI, and the decliner stands aside', async () => {
    const submitted = await post('submitter', `${journeyPath}/spend-requests`, { itemId: `race${RACES + 1}` });
    expect(submitted.status).toBe(201);
    const path = `${journeyPath}/spend-requests/${submitted.body.id}`;
    const declined = await post('care-coordinator', `${path}/decisions`, {
      outcome: 'decline',
      rationale: 'Not linked to the goal',
      alternatives: 'A free community class',
    });
    expect(declined.body.status).toBe('declined');
    // Staff appeal on the person's behalf here (the test's budget-holder token is for another person).
    const appealed = await post('team-lead', `${path}/appeals`, { reason: 'The class is at a time I work' });
    expect(appealed.status).toBe(201);
    expect(appealed.body).toMatchObject({ status: 'appealed', decisions: [] });
    // Read back from HAPI: the appeal and the round it set aside are stored, not only returned.
    const stored = await get('care-coordinator', path);
    expect(stored.body.appeals).toEqual([
      expect.objectContaining({
        reason: 'The class is at a time I work',
        decisions: [
          expect.objectContaining({
            role: 'care-coordinator',
            outcome: 'decline',
            alternatives: 'A free community class',
          }),
        ],
      }),
    ]);
    const again = await post('care-coordinator', `${path}/decisions`, {
      outcome: 'approve',
      rationale: 'Changed my mind',
    });
    expect(again.status).toBe(422);
  });

  it('a retried POST with the same Idempotency-Key returns the first result and writes nothing', async () => {
    const key = uniqueId('idem');
    const first = await post('submitter', `${journeyPath}/spend-requests`, { itemId: `race${RACES}` }, key);
    expect(first.status).toBe(201);
    const before = {
      tasks: await count('Task', { patient: `Patient/${holderId}` }),
      provenance: await count('Provenance', { target: `Task/${first.body.id}` }),
      plans: await count('CarePlan', { subject: `Patient/${holderId}` }),
    };
    const retry = await post('submitter', `${journeyPath}/spend-requests`, { itemId: `race${RACES}` }, key);
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    // The same key on a decision: one decision, the replay shows it.
    const decisionKey = uniqueId('idem');
    const decided = await post(
      'care-coordinator',
      `${journeyPath}/spend-requests/${first.body.id}/decisions`,
      { outcome: 'approve', rationale: 'Fits' },
      decisionKey,
    );
    expect(decided.status).toBe(201);
    const again = await post(
      'care-coordinator',
      `${journeyPath}/spend-requests/${first.body.id}/decisions`,
      { outcome: 'approve', rationale: 'Fits' },
      decisionKey,
    );
    expect(again.status).toBe(201);
    expect(again.body.decisions).toHaveLength(1);
    const after = {
      tasks: await count('Task', { patient: `Patient/${holderId}` }),
      provenance: await count('Provenance', { target: `Task/${first.body.id}` }),
      plans: await count('CarePlan', { subject: `Patient/${holderId}` }),
    };
    // The decision wrote its own two Provenances (decision + write); the replays wrote nothing.
    expect(after).toEqual({ ...before, provenance: before.provenance + 2 });
    // A referral retried: one person, one journey.
    const nhsNumber = freshNhsNumber();
    const referral = {
      person: { nhsNumber, name: 'Retry Person', birthDate: '1990-01-01' },
      kind: 'one-off',
      cohort: 'mental-health-recovery',
      start: '2026-01-05',
    };
    const refKey = uniqueId('idem');
    const r1 = await post('submitter', '/referrals', referral, refKey);
    const r2 = await post('submitter', '/referrals', referral, refKey);
    expect([r1.status, r2.status]).toEqual([201, 201]);
    expect(r2.body.id).toBe(r1.body.id);
    expect(await count('Patient', { identifier: `${SYSTEMS.nhsNumber}|${nhsNumber}` })).toBe(1);
    expect(await count('EpisodeOfCare', { patient: `Patient/${r1.body.budgetHolderId}` })).toBe(1);
    process.stdout.write(
      `idempotency: before ${JSON.stringify(before)}, after ${JSON.stringify(after)} (the +2 is the one decision)\n`,
    );
  });

  describe('bad input is a 4xx problem naming the field, and writes nothing', () => {
    const problem = (res: request.Response, status: number, pointers: string[]): void => {
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const got = (res.body.errors as { pointer?: string }[]).map((e) => e.pointer);
      expect(got).toEqual(expect.arrayContaining(pointers));
    };

    it('missing fields and unknown codes (400)', async () => {
      problem(await post('submitter', '/referrals', {}), 400, ['/person', '/kind', '/cohort', '/start']);
      problem(
        await post('submitter', '/referrals', {
          person: { nhsNumber: freshNhsNumber(), name: 'X', birthDate: '1990-01-01' },
          kind: 'sometimes',
          cohort: 'astrology',
          start: '2026-01-05',
        }),
        400,
        ['/kind', '/cohort'],
      );
      problem(await post('care-coordinator', `${journeyPath}/spend-requests/x/decisions`, { outcome: 'maybe' }), 400, [
        '/outcome',
        '/rationale',
      ]);
    });

    it('negative or fractional pence (400)', async () => {
      problem(await post('care-coordinator', `${journeyPath}/payments`, { amount: -500 }), 400, ['/amount']);
      problem(await post('care-coordinator', `${journeyPath}/payments`, { amount: 100.5 }), 400, ['/amount']);
      problem(
        await post('care-coordinator', `${journeyPath}/spend`, {
          amount: 12.34,
          category: 'travel',
          occurred: '2026-01-20',
        }),
        400,
        ['/amount'],
      );
    });

    it('an invalid NHS number (422) creates no one', async () => {
      const bad = '9990079197';
      problem(
        await post('submitter', '/referrals', {
          person: { nhsNumber: bad, name: 'X', birthDate: '1990-01-01' },
          kind: 'one-off',
          cohort: 'mental-health-recovery',
          start: '2026-01-05',
        }),
        422,
        ['/person/nhsNumber'],
      );
      expect(await count('Patient', { identifier: `${SYSTEMS.nhsNumber}|${bad}` })).toBe(0);
    });

    it('a rule broken deep in a multi-resource write stores nothing of it (422)', async () => {
      const plans = await count('CarePlan', { subject: `Patient/${holderId}` });
      const goals = await count('Goal', { subject: `Patient/${holderId}` });
      // A decline without alternatives, and a second plan: refused by rules, nothing written.
      const submitted = await post('submitter', `${journeyPath}/spend-requests`, { itemId: `race${RACES + 1}` });
      problem(
        await post('care-coordinator', `${journeyPath}/spend-requests/${submitted.body.id}/decisions`, {
          outcome: 'decline',
          rationale: 'No',
        }),
        422,
        ['/alternatives'],
      );
      expect(
        (await get('care-coordinator', `${journeyPath}/spend-requests/${submitted.body.id}`)).body.decisions,
      ).toEqual([]);
      const second = await post('care-coordinator', `${journeyPath}/plan`, {
        goals: [{ key: 'a', text: 'x' }],
        items: [{ id: 'i', description: 'd', category: 'travel', cost: 1, goals: ['zz'] }],
      });
      expect(second.status).toBe(422);
      expect(await count('CarePlan', { subject: `Patient/${holderId}` })).toBe(plans);
      expect(await count('Goal', { subject: `Patient/${holderId}` })).toBe(goals);
    });

    it('a stale If-Match is 409, and nothing changes', async () => {
      const journey = await get('care-coordinator', journeyPath);
      const res = await request(world.app)
        .post(`/api/v1${journeyPath}/closure`)
        .set('Authorization', `Bearer ${await token('care-coordinator')}`)
        .set('Idempotency-Key', uniqueId('k'))
        .set('If-Match', 'W/"1"')
        .send({ reason: 'other', end: '2026-02-01' });
      problem(res, 409, []);
      expect((await get('care-coordinator', journeyPath)).body.journey.stage).toBe(journey.body.journey.stage);
    });

    it('wrong content type (415), a 2 MB body (413), no Idempotency-Key (400)', async () => {
      const cc = await token('care-coordinator');
      const text = await request(world.app)
        .post(`/api/v1${journeyPath}/spend`)
        .set('Authorization', `Bearer ${cc}`)
        .set('Idempotency-Key', 'k1')
        .set('Content-Type', 'text/plain')
        .send('amount=5');
      expect(text.status).toBe(415);
      expect(text.headers['content-type']).toMatch(/^application\/problem\+json/);
      const big = await request(world.app)
        .post(`/api/v1${journeyPath}/needs`)
        .set('Authorization', `Bearer ${cc}`)
        .set('Idempotency-Key', 'k2')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ whatMattersToMe: 'x'.repeat(2 * 1024 * 1024) }));
      expect(big.status).toBe(413);
      expect(big.headers['content-type']).toMatch(/^application\/problem\+json/);
      const keyless = await request(world.app)
        .post(`/api/v1${journeyPath}/spend`)
        .set('Authorization', `Bearer ${cc}`)
        .send({ amount: 5, category: 'travel', occurred: '2026-01-20' });
      expect(keyless.status).toBe(400);
      expect(keyless.body.detail).toMatch(/Idempotency-Key/);
    });
  });

  it('serves its OpenAPI 3.1 document with every route and the shared schemas', async () => {
    const res = await request(world.app).get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/referrals',
        '/budget-holders/{holderId}/journeys/{journeyId}/spend-requests/{requestId}/decisions',
      ]),
    );
    expect(res.body.components.schemas.DecisionInput.required).toEqual(['outcome', 'rationale']);
  });
});
