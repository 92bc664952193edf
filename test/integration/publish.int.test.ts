import { randomUUID } from 'node:crypto';
import path from 'node:path';
import request from 'supertest';
import type { Bundle, BundleEntry, FhirResource, Patient } from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';
import { parseDestinations, type Destination } from '../../src/config/destinations.js';
import { startIdentityProvider, type RunningIdentityProvider } from '../../src/devIdentity/provider.js';
import { newSigningKey } from '../../src/devIdentity/keys.js';
import { SYSTEMS } from '../../src/fhir/common.js';
import * as careplan from '../../src/fhir/careplan.js';
import * as consentMapper from '../../src/fhir/consent.js';
import * as coverage from '../../src/fhir/coverage.js';
import * as goal from '../../src/fhir/goal.js';
import * as observation from '../../src/fhir/observation.js';
import * as patientMapper from '../../src/fhir/patient.js';
import * as qr from '../../src/fhir/questionnaireResponse.js';
import { PUBLISHED_SYSTEM } from '../../src/publish/outbound.js';
import { Publisher } from '../../src/publish/publisher.js';
import { deliveryStatus, type DestinationStatus } from '../../src/publish/status.js';
import type { ScenarioDomain } from '../support/scenarioDomain.js';
import { scenarioDomain } from '../support/scenarioDomain.js';
import { loadScenarios } from '../support/scenarios.js';
import { hapiControl, testStore, uniqueId } from '../support/hapi.js';
import { createAuthWorld, type AuthWorld } from '../support/authWorld.js';
import { DestinationProxy } from '../support/destinationProxy.js';

/**
 * The outbound publisher against a real destination: a second HAPI (our build, its own H2 on
 * another port) behind a proxy that checks the publisher's client-credentials JWTs from a real
 * OpenID Connect provider. The source is the shared test HAPI, which other tests write to at the
 * same time: each run publishes to a destination id of its own, so only this run's consents count.
 */

const DEST_PORT = process.env.TEST_DEST_HAPI_PORT ?? '8096';
const DEST_HAPI = `http://127.0.0.1:${DEST_PORT}/fhir`;
const DEST_ENV = { ...process.env, HAPI_PORT: DEST_PORT, HAPI_DATA_DIR: path.join(repoRoot, 'data', 'hapi-dest') };
const HAPI_BOOT_MS = 300000;

function destinationHapi(command: 'start' | 'stop'): Promise<void> {
  return hapiControl(command, DEST_ENV);
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 400,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** What the destination holds under one of our identifiers (read straight from its HAPI). */
async function atDestination(type: string, value: string): Promise<FhirResource[]> {
  const res = await fetch(
    `${DEST_HAPI}/${type}?identifier=${encodeURIComponent(`${PUBLISHED_SYSTEM}|${value}`)}&_count=10`,
    { headers: { 'cache-control': 'no-cache' } },
  );
  // An error answer holds no entries: it must fail the test, not read as "nothing there".
  if (!res.ok) throw new Error(`${type} search at the destination answered ${res.status}`);
  const bundle = (await res.json()) as Bundle;
  if (bundle.resourceType !== 'Bundle')
    throw new Error(`${type} search at the destination gave a ${String(bundle.resourceType)}`);
  return (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
}

const SCENARIOS = new Map(loadScenarios().map((s) => [s.id, s]));

interface Written {
  d: ScenarioDomain;
  /** [type, identifier value] of everything the PHR destination should hold for this person. */
  expected: [string, string][];
}

/** A scenario's person and PHB written to the source HAPI with ids unique to this run, consent to `recipient`. */
async function writeScenario(scenarioId: string, recipient: string): Promise<Written> {
  const prefix = uniqueId('pub');
  const d = JSON.parse(
    JSON.stringify(
      scenarioDomain(SCENARIOS.get(scenarioId) as NonNullable<ReturnType<typeof SCENARIOS.get>>),
    ).replaceAll(`"${scenarioId}-`, `"${prefix}-`),
  ) as ScenarioDomain;
  const scores = d.reviews.flatMap((r) =>
    r.impact
      ? [
          observation.toFhir({
            id: `${r.id}-total`,
            budgetHolderId: d.holder.id,
            journeyId: d.journey.id,
            questionnaire: SYSTEMS.questionnaire('phb-impact'),
            score: 'total',
            value: Object.values(r.impact).reduce((a, b) => a + b, 0),
            time: r.completed,
            responseId: r.id,
          }),
        ]
      : [],
  );
  const resources: (FhirResource & { id?: string })[] = [
    patientMapper.toFhir(d.holder),
    { resourceType: 'Organization', id: d.icb.id, name: d.icb.name },
    { resourceType: 'Practitioner', id: d.coordinator.id },
    {
      resourceType: 'EpisodeOfCare',
      id: d.journey.id,
      status: 'active',
      patient: { reference: `Patient/${d.holder.id}` },
    },
    coverage.toFhir(d.budget),
    ...d.goals.map(goal.toFhir),
    careplan.toFhir(d.plan),
    ...(d.needs ? [qr.toFhir(d.needs)] : []),
    ...d.reviews.map(qr.toFhir),
    ...scores,
    ...(d.consent ? [{ ...consentMapper.toFhir({ ...d.consent, recipient }), id: d.consent.id }] : []),
  ];
  const entry: BundleEntry[] = resources.map((resource) => ({
    resource,
    request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
  }));
  await testStore(60000).transaction({ resourceType: 'Bundle', type: 'transaction', entry });
  const expected: [string, string][] = [
    ['CarePlan', `CarePlan/${d.plan.id}`],
    ['DocumentReference', `CarePlan/${d.plan.id}/document`],
    ['Coverage', `Coverage/${d.budget.id}`],
    ...d.goals.map((g): [string, string] => ['Goal', `Goal/${g.id}`]),
    ...[...(d.needs ? [d.needs.id] : []), ...d.reviews.map((r) => r.id)].map((id): [string, string] => [
      'QuestionnaireResponse',
      `QuestionnaireResponse/${id}`,
    ]),
    ...scores.map((o): [string, string] => ['Observation', `Observation/${o.id}`]),
  ];
  return { d, expected };
}

/** Each expected resource exactly once at the destination: returns their version ids, or undefined while any is missing. */
async function arrivedOnce(expected: readonly [string, string][]): Promise<Map<string, string> | undefined> {
  const versions = new Map<string, string>();
  for (const [type, value] of expected) {
    const found = await atDestination(type, value);
    if (found.length > 1) throw new Error(`${value} is at the destination ${found.length} times`);
    if (found.length === 0) return undefined;
    versions.set(value, found[0]?.meta?.versionId ?? '');
  }
  return versions;
}

describe('publishing to a PHR and a GP system (real destination HAPI, real OIDC)', () => {
  const store = testStore(60000);
  const proxy = new DestinationProxy(DEST_HAPI);
  const runStart = new Date(Date.now() - 1000).toISOString();
  const phrId = `pkb-${randomUUID().slice(0, 8)}`;
  const gpId = `gp-${randomUUID().slice(0, 8)}`;
  const gpOds = `Y${Math.floor(Math.random() * 1e5)}`;
  const secret = `secret-${randomUUID()}`;
  let idp: RunningIdentityProvider;
  let destinations: Destination[];
  let publisher: Publisher;
  let world: AuthWorld;
  let laptop: Written;
  let tableTennis: Written;
  const timings: Record<string, number> = {};

  const status = async (id = phrId): Promise<DestinationStatus | undefined> =>
    (await deliveryStatus(store, Date.now(), id))[0];
  const caughtUp = async (id = phrId): Promise<DestinationStatus | undefined> => {
    const s = await status(id);
    return s &&
      s.state === 'ok' &&
      s.lagMs === 0 &&
      s.checkedAt !== undefined &&
      Date.parse(s.checkedAt) > Date.now() - 5000
      ? s
      : undefined;
  };
  const newPublisher = (): Publisher => new Publisher({ store, destinations, intervalMs: 300, settleMs: 300 });

  beforeAll(async () => {
    await destinationHapi('start');
    await proxy.start();
    idp = await startIdentityProvider({
      host: '127.0.0.1',
      port: 0,
      audience: proxy.baseUrl,
      users: [],
      keys: [await newSigningKey()],
      clientClaims: {},
      clients: [
        {
          client_id: 'test-publisher',
          client_secret: secret,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          token_endpoint_auth_method: 'client_secret_post',
        },
      ],
    });
    proxy.trust(idp.issuer, proxy.baseUrl);
    const auth = {
      issuer: idp.issuer,
      clientId: 'test-publisher',
      clientSecretEnv: 'TEST_PUBLISHER_SECRET',
      resource: proxy.baseUrl,
    };
    const retry = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 2000 };
    destinations = parseDestinations(
      {
        destinations: [
          {
            id: phrId,
            kind: 'phr',
            fhirBaseUrl: proxy.baseUrl,
            auth,
            headers: { 'x-team-id': 'team-42' },
            accepts: ['CarePlan', 'Goal', 'DocumentReference', 'Coverage', 'QuestionnaireResponse', 'Observation'],
            removes: ['CarePlan', 'Goal', 'DocumentReference', 'Coverage', 'QuestionnaireResponse', 'Observation'],
            retry,
            startFrom: runStart,
          },
          {
            id: gpId,
            kind: 'gp',
            fhirBaseUrl: proxy.baseUrl,
            auth,
            accepts: ['DocumentReference'],
            retry,
            startFrom: runStart,
            gp: { odsCode: gpOds, deliver: 'notification', documentBaseUrl: 'http://127.0.0.1:8080/fhir' },
          },
        ],
      },
      'test destinations',
      { secret: (name) => (name === 'TEST_PUBLISHER_SECRET' ? secret : undefined), production: false },
    );
    world = await createAuthWorld();
    publisher = newPublisher();
    publisher.start();
  }, HAPI_BOOT_MS + 60000);

  afterAll(async () => {
    await publisher?.stop();
    await world?.close();
    await idp?.close();
    await proxy.close();
    if (!process.env.KEEP_DEST_HAPI) await destinationHapi('stop');
    process.stdout.write(`publish: ${JSON.stringify(timings)}\n`);
  }, 120000);

  it("sends the laptop scenario's plan, goals, budget, answers and scores once, with tokens; nothing of the table tennis scenario (no consent)", async () => {
    const t0 = Date.now();
    laptop = await writeScenario('ch-laptop-gcse', phrId);
    tableTennis = await writeScenario('ch-table-tennis', phrId);
    const versions = await waitFor('the laptop scenario at the destination', () => arrivedOnce(laptop.expected), 60000);
    await waitFor('the publisher to catch up', () => caughtUp(), 30000);
    timings.firstDeliveryMs = Date.now() - t0;
    expect([...versions.values()].every((v) => v === '1')).toBe(true);
    expect(laptop.expected).toHaveLength(12);

    for (const [type, value] of tableTennis.expected) expect(await atDestination(type, value)).toEqual([]);
    expect(
      proxy.writes(
        (r) => r.target.includes(tableTennis.d.holder.id) || tableTennis.expected.some(([, v]) => r.target.endsWith(v)),
      ),
    ).toEqual([]);

    // What arrived is shaped for the destination: our identifier, the person by NHS number, a readable plan.
    const [plan] = await atDestination('DocumentReference', `CarePlan/${laptop.d.plan.id}/document`);
    expect(plan).toMatchObject({
      subject: { identifier: { system: SYSTEMS.nhsNumber, value: laptop.d.holder.nhsNumber } },
      content: [{ attachment: { contentType: 'text/html; charset=utf-8' } }],
    });
    const html = Buffer.from(
      (plan as { content: { attachment: { data: string } }[] }).content[0]?.attachment.data ?? '',
      'base64',
    ).toString('utf8');
    for (const g of laptop.d.goals) expect(html).toContain(g.text);
    expect(html).toContain('£420.00');
    const [goalThere] = await atDestination('Goal', `Goal/${laptop.d.goals[0]?.id}`);
    expect(JSON.stringify(goalThere)).not.toContain(`Patient/${laptop.d.holder.id}`);

    // Every write carried a valid token from the destination's provider, and the team header.
    const writes = proxy.writes();
    expect(writes.length).toBeGreaterThanOrEqual(12);
    expect(writes.every((w) => w.clientId === 'test-publisher' && w.headers['x-team-id'] === 'team-42')).toBe(true);
    expect(proxy.unauthorized).toBe(0);
    expect(publisher.tokensIssued(phrId)).toBe(1);
    expect(proxy.tokens.size).toBe(1);
  }, 120000);

  it('sends an edit as an update of the same resource, never a second one', async () => {
    const edited = {
      ...(laptop.d.goals[0] as ScenarioDomain['goals'][number]),
      text: 'I want to pass my GCSE English and Maths this summer.',
    };
    await store.update(goal.toFhir(edited));
    const value = `Goal/${edited.id}`;
    await waitFor(
      'the edited goal at the destination',
      async () => {
        const found = await atDestination('Goal', value);
        return found.length === 1 && JSON.stringify(found[0]).includes('this summer') ? found : undefined;
      },
      30000,
    );
    await waitFor('the publisher to catch up', () => caughtUp(), 30000);
    const versions = await arrivedOnce(laptop.expected);
    expect(versions?.get(value)).toBe('2');
    // The readable plan follows the goal; everything else is untouched.
    expect(versions?.get(`CarePlan/${laptop.d.plan.id}/document`)).toBe('2');
    expect(
      [...(versions?.entries() ?? [])]
        .filter(([k]) => k !== value && !k.endsWith('/document'))
        .every(([, v]) => v === '1'),
    ).toBe(true);
    laptop.d.goals[0] = edited;
  }, 60000);

  it('dead-letters a resource the destination refuses (400) with its OperationOutcome, lets the rest flow, and replays it when asked', async () => {
    const operator = await world.token('service-operator');
    const responseId = `${laptop.d.plan.id}-extra-review`;
    const refused = `QuestionnaireResponse/${responseId}`;
    proxy.refuse = (method, target) => method === 'PUT' && target.endsWith(`|${refused}`);
    const review = {
      ...(laptop.d.reviews[0] as ScenarioDomain['reviews'][number]),
      id: responseId,
      point: 'on-request' as const,
      completed: '2026-05-01T10:00:00+00:00',
    };
    const score = observation.toFhir({
      id: `${responseId}-total`,
      budgetHolderId: laptop.d.holder.id,
      questionnaire: SYSTEMS.questionnaire('phb-impact'),
      score: 'total',
      value: 14,
      time: review.completed,
      responseId,
    });
    await store.transaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [qr.toFhir(review), score].map((resource) => ({
        resource,
        request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
      })),
    });

    // The score written after it still arrives.
    await waitFor(
      'the score at the destination',
      async () => (await atDestination('Observation', `Observation/${score.id}`)).length === 1,
      30000,
    );
    await waitFor('the publisher to catch up', () => caughtUp(), 30000);
    expect(await atDestination('QuestionnaireResponse', refused)).toEqual([]);

    const staff = await world.token('care-coordinator');
    expect(
      (await request(world.app).get('/api/v1/admin/dead-letters').set('Authorization', `Bearer ${staff}`)).status,
    ).toBe(403);
    const listed = await request(world.app)
      .get(`/api/v1/admin/dead-letters?destination=${phrId}`)
      .set('Authorization', `Bearer ${operator}`);
    expect(listed.status).toBe(200);
    expect(listed.body.deadLetters).toHaveLength(1);
    const [letter] = listed.body.deadLetters;
    expect(letter).toMatchObject({
      destination: phrId,
      change: expect.stringMatching(new RegExp(`^${refused}/_history/1$`)),
      reason: 'rejected',
      status: 'open',
      httpStatus: 400,
      outcome: {
        resourceType: 'OperationOutcome',
        issue: [
          { severity: 'error', code: 'business-rule', diagnostics: 'This destination does not accept this resource' },
        ],
      },
    });
    const delivery = await request(world.app)
      .get(`/api/v1/admin/delivery?destination=${phrId}`)
      .set('Authorization', `Bearer ${operator}`);
    expect(delivery.status).toBe(200);
    expect(delivery.body.destinations[0]).toMatchObject({
      destination: phrId,
      state: 'ok',
      lagMs: 0,
      deadLetters: { open: 1, replayRequested: 0 },
    });

    // Fixed at the destination; the operator replays it.
    proxy.refuse = undefined;
    const replay = await request(world.app)
      .post(`/api/v1/admin/dead-letters/${letter.id}/replay`)
      .set('Authorization', `Bearer ${operator}`);
    expect(replay.status).toBe(202);
    expect(replay.body.deadLetter).toMatchObject({ id: letter.id, status: 'replay-requested' });
    await waitFor(
      'the replayed response at the destination',
      async () => (await atDestination('QuestionnaireResponse', refused)).length === 1,
      30000,
    );
    const after = await waitFor(
      'the dead letter marked replayed',
      async () => {
        const res = await request(world.app)
          .get(`/api/v1/admin/dead-letters?destination=${phrId}&status=all`)
          .set('Authorization', `Bearer ${operator}`);
        return res.body.deadLetters?.[0]?.status === 'replayed' ? res.body : undefined;
      },
      30000,
    );
    expect(after.deadLetters).toHaveLength(1);
    laptop.expected.push(['QuestionnaireResponse', refused], ['Observation', `Observation/${score.id}`]);
  }, 90000);

  it(
    'survives the destination going down and a publisher restart: everything arrives exactly once and the lag drains to zero',
    async () => {
      await destinationHapi('stop');
      const downAt = Date.now();
      // Changes while the destination is down: a second consenting person and another edit.
      const second = await writeScenario('ch-laptop-gcse', phrId);
      const edited = {
        ...(laptop.d.goals[1] as ScenarioDomain['goals'][number]),
        achievement: 'in-progress' as const,
        text: 'I want to start a small repair business of my own.',
      };
      await store.update(goal.toFhir(edited));
      const waiting = await waitFor(
        'the publisher to see the destination down',
        async () => {
          const s = await status();
          return s?.state === 'unavailable' && s.lagMs > 0 ? s : undefined;
        },
        60000,
      );
      expect(waiting.lastError).toMatch(/503/);

      // The facade restarts: a new publisher with nothing in memory picks up from the cursor in HAPI.
      await publisher.stop();
      publisher = newPublisher();
      publisher.start();
      const lagBeforeRestart = (await status())?.lagMs ?? 0;

      await destinationHapi('start');
      const upAt = Date.now();
      timings.destinationDownMs = upAt - downAt;
      await waitFor(
        'everything at the destination',
        async () => (await arrivedOnce(second.expected)) && (await arrivedOnce(laptop.expected)),
        120000,
      );
      const drained = await waitFor('the lag to drain', () => caughtUp(), 120000);
      timings.drainMs = Date.now() - upAt;
      timings.lagAtRestartMs = lagBeforeRestart;
      expect(drained.lagMs).toBe(0);

      const secondVersions = await arrivedOnce(second.expected);
      const firstVersions = await arrivedOnce(laptop.expected);
      expect([...(secondVersions?.values() ?? [])].every((v) => v === '1')).toBe(true);
      expect(firstVersions?.get(`Goal/${edited.id}`)).toBe('2');
      const letters = await request(world.app)
        .get(`/api/v1/admin/dead-letters?destination=${phrId}`)
        .set('Authorization', `Bearer ${await world.token('service-operator')}`);
      expect(letters.body.deadLetters).toEqual([]);
      const writesPerResource = new Map<string, number>();
      for (const w of proxy.writes((r) => r.status < 300)) {
        const key = w.target.split('|').pop() ?? '';
        writesPerResource.set(key, (writesPerResource.get(key) ?? 0) + 1);
      }
      timings.resourcesAtDestination = laptop.expected.length + second.expected.length;
      timings.resourcesOnceAtDestination = (firstVersions?.size ?? 0) + (secondVersions?.size ?? 0);
      timings.secondPersonWrites = second.expected.reduce((n, [, v]) => n + (writesPerResource.get(v) ?? 0), 0);
      timings.secondPersonNewVersions = [...(secondVersions?.values() ?? [])].filter((v) => v !== '1').length;
      laptop.d.goals[1] = edited;
    },
    HAPI_BOOT_MS + 300000,
  );

  it("tells the GP practice about a new discharge document for its registered patient, and no other practice's", async () => {
    const document = (
      patientId: string,
      ods: string,
    ): { patient: Patient & { id: string }; bundle: Bundle & { id: string } } => ({
      patient: {
        resourceType: 'Patient',
        id: patientId,
        identifier: [{ system: SYSTEMS.nhsNumber, value: '9990079196' }],
        generalPractitioner: [{ type: 'Organization', identifier: { system: SYSTEMS.odsOrganisation, value: ods } }],
      },
      bundle: {
        resourceType: 'Bundle',
        id: uniqueId('doc'),
        type: 'document',
        identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` },
        timestamp: new Date().toISOString(),
        entry: [
          {
            fullUrl: `urn:uuid:${randomUUID()}`,
            resource: {
              resourceType: 'Composition',
              status: 'final',
              type: { coding: [{ system: SYSTEMS.snomed, code: '373942005', display: 'Discharge summary' }] },
              subject: { reference: `Patient/${patientId}` },
              date: new Date().toISOString(),
              author: [{ display: 'Recovery team' }],
              title: 'Discharge summary',
            },
          },
        ],
      },
    });
    const ours = document(uniqueId('gp-pt'), gpOds);
    const theirs = document(uniqueId('gp-pt'), `${gpOds}X`);
    for (const d of [ours, theirs]) {
      await store.update(d.patient);
      await store.update(d.bundle);
    }
    const [pointer] = await waitFor(
      'the notification at the destination',
      async () => {
        const found = await atDestination('DocumentReference', `Bundle/${ours.bundle.id}`);
        return found.length ? found : undefined;
      },
      30000,
    );
    expect(pointer).toMatchObject({
      status: 'current',
      docStatus: 'final',
      subject: { identifier: { value: '9990079196' } },
      content: [
        {
          attachment: {
            contentType: 'application/fhir+json',
            url: `http://127.0.0.1:8080/fhir/Bundle/${ours.bundle.id}`,
          },
        },
      ],
    });
    await waitFor('the GP publisher to catch up', () => caughtUp(gpId), 30000);
    expect(await atDestination('DocumentReference', `Bundle/${theirs.bundle.id}`)).toEqual([]);
  }, 60000);

  it('publishes nothing more once consent is withdrawn, and removes what it sent', async () => {
    // Withdrawn as /api/v1 records it: a new, later decision beside the earlier yes, which stays stored.
    const earlier = laptop.d.consent as NonNullable<ScenarioDomain['consent']>;
    const withdrawal = { ...earlier, id: uniqueId('withdrawal'), recipient: phrId, status: 'inactive' as const };
    await store.update({
      ...consentMapper.toFhir({ ...withdrawal, dateTime: new Date().toISOString() }),
      id: withdrawal.id,
    });
    await waitFor(
      'the removals at the destination',
      async () => {
        for (const [type, value] of laptop.expected) if ((await atDestination(type, value)).length) return undefined;
        return true;
      },
      60000,
    );
    await waitFor('the publisher to catch up', () => caughtUp(), 30000);
    await store.update(
      goal.toFhir({
        ...(laptop.d.goals[0] as ScenarioDomain['goals'][number]),
        text: 'Something new after withdrawal.',
      }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    await waitFor('the publisher to catch up', () => caughtUp(), 30000);
    expect(await atDestination('Goal', `Goal/${laptop.d.goals[0]?.id}`)).toEqual([]);
  }, 120000);
});
