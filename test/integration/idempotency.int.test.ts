import type { Server } from 'node:http';
import request from 'supertest';
import type { Basic, Bundle, Patient } from 'fhir/r4.js';
import { createApp } from '../../src/api/app.js';
import { idempotencyKey, requestFingerprint } from '../../src/api/idempotency.js';
import type { Caller } from '../../src/auth/caller.js';
import { SYSTEMS } from '../../src/fhir/common.js';
import * as keyRecord from '../../src/fhir/idempotencyRecord.js';
import { createAuthWorld, type AuthWorld } from '../support/authWorld.js';
import { journeyPeople, storeSubmitter, submitterToken, type JourneyPeople } from '../support/journeyDriver.js';
import { freshNhsNumber, uniqueId } from '../support/hapi.js';
import { EHR_GOAL_SYSTEM, ehrBundle } from '../support/ehrBundle.js';

/**
 * One Idempotency-Key, many requests at the same instant, on each kind of /api/v1 write: exactly
 * one executes, the others get its result or a 409 "in progress" that a retry resolves, and HAPI
 * holds every record once. A key reused for another request is 422; a malformed body is refused
 * before any replay; a key whose holder crashed is taken over after the lease.
 */
const SIMULTANEOUS = 20;

describe('Idempotency-Key under concurrency (real HAPI, real tokens)', () => {
  let world: AuthWorld;
  let people: JourneyPeople;
  let submitter: string;
  let server: Server;
  /** A second facade instance on the same HAPI: the key's record is in HAPI, not in either process. */
  let second: Server;
  let cc = '';

  const post = (
    token: string,
    path: string,
    body: unknown,
    key: string,
    headers: Record<string, string> = {},
    via: Server = server,
  ): request.Test => {
    let r = request(via).post(`/api/v1${path}`).set('Authorization', `Bearer ${token}`).set('Idempotency-Key', key);
    for (const [name, value] of Object.entries(headers)) r = r.set(name, value);
    return r.send(body as object);
  };
  const count = async (type: string, params: Record<string, string>): Promise<number> =>
    ((await world.store.search(type as 'Task', { ...params, _summary: 'count' })) as Bundle).total ?? -1;
  const referralBody = (nhsNumber: string): unknown => ({
    person: { nhsNumber, name: 'Same Key Person', birthDate: '1990-01-01' },
    kind: 'one-off',
    cohort: 'mental-health-recovery',
    start: '2026-01-05',
    careTeam: [world.staffRoleIds['care-coordinator']],
  });

  /** Sends `n` copies at once and checks the answers: one executed, the rest replayed or told to retry; then the retries agree. */
  const burst = async (
    send: () => request.Test,
    expectedStatus: number,
  ): Promise<{ winner: request.Response; answers: request.Response[] }> => {
    const answers = await Promise.all(Array.from({ length: SIMULTANEOUS }, () => send()));
    const statuses = answers.map((a) => a.status);
    const executed = answers.filter((a) => a.status === expectedStatus && a.headers['idempotent-replayed'] !== 'true');
    const replayed = answers.filter((a) => a.status === expectedStatus && a.headers['idempotent-replayed'] === 'true');
    const waiting = answers.filter((a) => a.status === 409);
    process.stdout.write(
      `same key x${SIMULTANEOUS}: executed ${executed.length}, replayed ${replayed.length}, in progress ${waiting.length}, other ${JSON.stringify(statuses.filter((s) => s !== expectedStatus && s !== 409))}\n`,
    );
    expect(executed).toHaveLength(1);
    expect(executed.length + replayed.length + waiting.length).toBe(SIMULTANEOUS);
    const [winner] = executed;
    if (!winner) throw new Error('nothing executed');
    for (const w of waiting) {
      expect(w.headers['retry-after']).toBe('5');
      const detail = w.headers['content-type']?.startsWith('application/problem+json')
        ? w.body.detail
        : w.body.issue?.[0]?.diagnostics;
      expect(detail).toMatch(/still being processed/);
    }
    for (const r of replayed) expect(r.body).toEqual(winner.body);
    // The ones told to wait, retried: the first result, replayed.
    const retried = await send();
    expect(retried.status).toBe(expectedStatus);
    expect(retried.headers['idempotent-replayed']).toBe('true');
    expect(retried.body).toEqual(winner.body);
    return { winner, answers };
  };

  beforeAll(async () => {
    people = journeyPeople(0);
    world = await createAuthWorld({ extraUsers: people.users });
    await storeSubmitter(world.store, people);
    submitter = await submitterToken(world, people);
    cc = await world.token('care-coordinator');
    server = createApp({
      store: world.store,
      readiness: { conformanceLoaded: true },
      retryAfterSeconds: 5,
      auth: world.auth,
    }).listen(0, '127.0.0.1');
    second = createApp({
      store: world.store,
      readiness: { conformanceLoaded: true },
      retryAfterSeconds: 5,
      auth: world.auth,
    }).listen(0, '127.0.0.1');
  }, 120000);

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await new Promise((r) => second.close(r));
    await world.close();
  });

  it('a referral (service route) sent to two facade instances: one person, one journey, one care team, one write Provenance', async () => {
    const nhsNumber = freshNhsNumber();
    const key = uniqueId('same');
    let turn = 0;
    const { winner } = await burst(
      () => post(submitter, '/referrals', referralBody(nhsNumber), key, {}, turn++ % 2 === 0 ? server : second),
      201,
    );
    const holder = `Patient/${winner.body.budgetHolderId as string}`;
    expect(await count('Patient', { identifier: `${SYSTEMS.nhsNumber}|${nhsNumber}` })).toBe(1);
    expect(await count('EpisodeOfCare', { patient: holder })).toBe(1);
    expect(await count('CareTeam', { subject: holder })).toBe(1);
    expect(await count('Provenance', { target: `EpisodeOfCare/${winner.body.id as string}` })).toBe(1);
  });

  it('person routes: a create (needs), an update with If-Match (eligibility), a create with no precondition (consent)', async () => {
    const referral = await post(submitter, '/referrals', referralBody(freshNhsNumber()), uniqueId('k')).expect(201);
    const holderId = referral.body.budgetHolderId as string;
    const journey = `/budget-holders/${holderId}/journeys/${referral.body.id as string}`;

    const eligibilityKey = uniqueId('same');
    const etag = referral.headers.etag as string;
    const { winner: decided } = await burst(
      () =>
        post(cc, `${journey}/eligibility`, { eligible: true, decidedOn: '2026-01-06' }, eligibilityKey, {
          'If-Match': etag,
        }),
      200,
    );
    // One update: the journey went from version 1 to 2, not further.
    expect(decided.headers.etag).toBe('W/"2"');

    const needsKey = uniqueId('same');
    await burst(() => post(cc, `${journey}/needs`, { whatMattersToMe: 'Getting back to my course.' }, needsKey), 201);
    expect(await count('QuestionnaireResponse', { subject: `Patient/${holderId}` })).toBe(1);

    const consentKey = uniqueId('same');
    await burst(
      () =>
        post(cc, `/budget-holders/${holderId}/consents`, { recipient: 'test-phr-app', status: 'active' }, consentKey),
      201,
    );
    expect(await count('Consent', { patient: `Patient/${holderId}` })).toBe(1);
  });

  it('the /fhir operation $send-questionnaire-request: one ServiceRequest, one write Provenance', async () => {
    const key = uniqueId('same');
    const body = {
      resourceType: 'Parameters',
      parameter: [{ name: 'target', valueReference: { reference: `Patient/${world.own}` } }],
    };
    const send = (): request.Test =>
      request(server)
        .post('/fhir/Questionnaire/phb-impact/$send-questionnaire-request')
        .set('Authorization', `Bearer ${cc}`)
        .set('Content-Type', 'application/fhir+json')
        .set('Idempotency-Key', key)
        .send(body);
    const { winner } = await burst(send, 200);
    const ref =
      (winner.body.parameter as { name: string; valueReference?: { reference: string } }[]).find(
        (p) => p.name === 'request',
      )?.valueReference?.reference ?? '';
    expect(ref).toMatch(/^ServiceRequest\//);
    expect(await count('ServiceRequest', { subject: `Patient/${world.own}` })).toBe(1);
    expect(await count('Provenance', { target: ref })).toBe(1);
    const malformed = await request(server)
      .post('/fhir/Questionnaire/phb-impact/$send-questionnaire-request')
      .set('Authorization', `Bearer ${cc}`)
      .set('Content-Type', 'application/fhir+json')
      .set('Idempotency-Key', 'has a space')
      .send(body);
    expect(malformed.status).toBe(400);
    expect(malformed.body.resourceType).toBe('OperationOutcome');
  });

  it("goals in from an EHR (POST /fhir, keyed by the EHR's identifiers): the person, referral and goals once", async () => {
    const ehr = await world.token('ehr-system');
    const nhsNumber = freshNhsNumber();
    const goal = uniqueId('G');
    const bundle = ehrBundle(nhsNumber, [{ id: goal, text: 'I want to get back to work.' }]);
    const person = bundle.entry?.[0]?.resource as Patient;
    person.name = [{ text: 'Same Bundle' }];
    person.birthDate = '1990-05-01';
    const answers = await Promise.all(
      Array.from({ length: SIMULTANEOUS }, () =>
        request(server).post('/fhir').set('Authorization', `Bearer ${ehr}`).send(bundle),
      ),
    );
    const statuses = answers.map((a) => a.status);
    process.stdout.write(`same EHR Bundle x${SIMULTANEOUS}: ${JSON.stringify(statuses)}\n`);
    for (const a of answers.filter((x) => x.status !== 200)) {
      expect(a.status).toBe(409);
      expect(a.headers['retry-after']).toBeDefined();
    }
    // A retry of any refused one is answered as the first.
    expect((await request(server).post('/fhir').set('Authorization', `Bearer ${ehr}`).send(bundle)).status).toBe(200);
    const people =
      (await world.store.search<Patient>('Patient', { identifier: `${SYSTEMS.nhsNumber}|${nhsNumber}` })).entry ?? [];
    expect(people).toHaveLength(1);
    const holder = `Patient/${people[0]?.resource?.id ?? ''}`;
    expect(await count('EpisodeOfCare', { patient: holder })).toBe(1);
    expect(await count('Goal', { identifier: `${EHR_GOAL_SYSTEM}|${goal}` })).toBe(1);
  });

  it('a key reused for a different request is 422 naming the key; a malformed body is 400 before any replay', async () => {
    const key = uniqueId('reused');
    await post(submitter, '/referrals', referralBody(freshNhsNumber()), key).expect(201);
    const other = await post(submitter, '/referrals', referralBody(freshNhsNumber()), key);
    expect(other.status).toBe(422);
    expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(other.body.detail).toContain(`Idempotency-Key "${key}"`);
    const malformed = await post(submitter, '/referrals', [null, null], key);
    expect(malformed.status).toBe(400);
    expect(malformed.headers['idempotent-replayed']).toBeUndefined();
  });

  it('a request refused by a rule frees its key: the corrected request may use it', async () => {
    const referral = await post(submitter, '/referrals', referralBody(freshNhsNumber()), uniqueId('k')).expect(201);
    const journey = `/budget-holders/${referral.body.budgetHolderId as string}/journeys/${referral.body.id as string}`;
    const key = uniqueId('freed');
    // No eligibility decision yet: a needs conversation is refused, and nothing is written.
    const early = await post(cc, `${journey}/needs`, { whatMattersToMe: 'Too early.' }, key);
    expect(early.status).toBe(422);
    await post(cc, `${journey}/eligibility`, { eligible: true, decidedOn: '2026-01-06' }, uniqueId('k')).expect(200);
    const again = await post(cc, `${journey}/needs`, { whatMattersToMe: 'Now it is time.' }, key);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
  });

  it('a key whose holder crashed is taken over after the lease, and the old holder can no longer complete', async () => {
    const leaseMs = 1500;
    const shortLease = createApp({
      store: world.store,
      readiness: { conformanceLoaded: true },
      retryAfterSeconds: 5,
      auth: world.auth,
      idempotencyLeaseMs: leaseMs,
    });
    const key = uniqueId('crashed');
    const nhsNumber = freshNhsNumber();
    const body = referralBody(nhsNumber);
    // The record a holder leaves when it dies between taking the key and writing: in progress, same request.
    const claims = JSON.parse(Buffer.from(submitter.split('.')[1] ?? '', 'base64url').toString()) as {
      iss: string;
      sub: string;
    };
    const digest =
      idempotencyKey({ issuer: claims.iss, subject: claims.sub } as Caller, 'post /v1/referrals  /v1/referrals', key)
        .identifier.value ?? '';
    const crashed = await world.store.create<Basic>(
      keyRecord.toFhir({
        key: digest,
        fingerprint: requestFingerprint(body, undefined),
        state: 'in-progress',
        attempt: 'crashed',
      }),
    );
    const send = (): request.Test =>
      request(shortLease)
        .post('/api/v1/referrals')
        .set('Authorization', `Bearer ${submitter}`)
        .set('Idempotency-Key', key)
        .send(body as object);
    const waiting = await send();
    expect(waiting.status).toBe(409);
    await new Promise((r) => setTimeout(r, leaseMs + 200));
    const taken = await send();
    expect(taken.status).toBe(201);
    expect(taken.headers['idempotent-replayed']).toBeUndefined();
    expect(await count('Patient', { identifier: `${SYSTEMS.nhsNumber}|${nhsNumber}` })).toBe(1);
    // The crashed holder's completion is conditional on the version it held: refused now.
    const late = world.store.update(
      {
        ...keyRecord.toFhir({ key: digest, fingerprint: 'x', state: 'completed', attempt: 'crashed' }),
        id: crashed.resource.id ?? '',
      },
      { ifMatchVersion: crashed.versionId },
    );
    await expect(late).rejects.toMatchObject({ options: { reason: 'version-conflict' } });
    const replayed = await send();
    expect(replayed.status).toBe(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.body.id).toBe(taken.body.id);
  });
});
