import path from 'node:path';
import request from 'supertest';
import type { AuditEvent, Bundle, Reference } from 'fhir/r4.js';
import { AuditLog } from '../../src/audit/auditLog.js';
import { UNRESOLVED_SYSTEM } from '../../src/audit/auditEvent.js';
import type { AccessRecord } from '../../src/auth/access.js';
import { createApp } from '../../src/api/app.js';
import { repoRoot } from '../../src/config/config.js';
import type { StoreCallOptions } from '../../src/store/fhirStore.js';
import { HapiStore } from '../../src/store/hapiStore.js';
import { unavailable } from '../../src/outcome/errors.js';
import { runScript, testStore, uniqueId } from '../support/hapi.js';
import { freshSpoolDir } from '../support/spool.js';

/**
 * The audit log against real servers: the shared test HAPI as the clinical store, and a second
 * HAPI of our build (its own H2 and port) as a separate audit repository, which holds none of the
 * records the events name.
 */

const AUDIT_PORT = process.env.TEST_AUDIT_HAPI_PORT ?? '8097';
const AUDIT_HAPI = `http://127.0.0.1:${AUDIT_PORT}/fhir`;
const AUDIT_ENV = {
  ...process.env,
  HAPI_PORT: AUDIT_PORT,
  HAPI_DATA_DIR: path.join(repoRoot, 'data', 'hapi-audit-test'),
  HAPI_ALLOW_EXTERNAL_REFERENCES: 'true',
  HAPI_SUBSCRIPTIONS: 'false',
};
const PUBLIC_BASE = 'https://phb.example.org/fhir';
const HAPI_BOOT_MS = 300000;

function auditHapi(command: 'start' | 'stop'): Promise<void> {
  return runScript('hapi.sh', [command], AUDIT_ENV);
}

const access = (patientId: string, requestId: string): AccessRecord => ({
  resource: 'Patient',
  resourceId: patientId,
  interaction: 'read',
  patientId,
  outcome: 'success',
  requestId,
  time: new Date().toISOString(),
});

/** The real store, noting the size of each group it is asked to write. */
class GroupRecordingStore extends HapiStore {
  readonly groups: number[] = [];

  override async bulkWrite(bundle: Bundle, options?: StoreCallOptions): Promise<Bundle> {
    this.groups.push(bundle.entry?.length ?? 0);
    return super.bulkWrite(bundle, options);
  }
}

/** The real store, whose first answer is lost after HAPI has written the group (a timeout, a dropped connection). */
class LostFirstAnswerStore extends HapiStore {
  calls = 0;

  override async bulkWrite(bundle: Bundle, options?: StoreCallOptions): Promise<Bundle> {
    const answer = await super.bulkWrite(bundle, options);
    if (++this.calls === 1) throw unavailable('The FHIR store did not answer in time', 5);
    return answer;
  }
}

const patientEntity = (event: AuditEvent): Reference | undefined =>
  event.entity?.find((e) => e.role?.code === '1')?.what;

describe('audit log (real HAPI as clinical store and as a separate audit repository)', () => {
  const clinical = testStore(60000);
  const repository = new HapiStore({ baseUrl: AUDIT_HAPI, timeoutMs: 60000, retryAfterSeconds: 5 });

  beforeAll(() => auditHapi('start'), HAPI_BOOT_MS);
  afterAll(() => auditHapi('stop'), 60000);

  it('writes a group into the clinical store, a reference to an unknown patient as a logical one, the others untouched', async () => {
    const known = uniqueId('audit-known');
    await clinical.update({ resourceType: 'Patient', id: known, active: true });
    const unknown = uniqueId('audit-unknown');
    const log = new AuditLog(clinical, { spoolDir: freshSpoolDir(), batchDelayMs: 50 });
    const written = [
      log.record(access(known, uniqueId('req'))).stored,
      log.record(access(unknown, uniqueId('req'))).stored,
      log.record(access(known, uniqueId('req'))).stored,
    ];
    await log.flush();
    const ids = await Promise.all(written);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);

    const [first, second, third] = await Promise.all(
      ids.map((id) => clinical.read<AuditEvent>('AuditEvent', id as string)),
    );
    expect(patientEntity(first as AuditEvent)).toEqual({ reference: `Patient/${known}` });
    expect(patientEntity(third as AuditEvent)).toEqual({ reference: `Patient/${known}` });
    expect(patientEntity(second as AuditEvent)).toEqual({
      type: 'Patient',
      identifier: { system: UNRESOLVED_SYSTEM, value: unknown },
    });
    const found = await clinical.search<AuditEvent>('AuditEvent', { entity: `Patient/${known}`, _count: 10 });
    expect((found.entry ?? []).map((e) => e.resource?.id).sort()).toEqual([ids[0], ids[2]].sort());
  }, 120000);

  it('writes into a separate audit repository with references made absolute under the public base, searchable there', async () => {
    const people = [uniqueId('audit-repo'), uniqueId('audit-repo')];
    const log = new AuditLog(repository, { spoolDir: freshSpoolDir(), batchDelayMs: 50, referenceBase: PUBLIC_BASE });
    const requestIds = people.map(() => uniqueId('req'));
    const written = people.map((p, i) => log.record(access(p, requestIds[i] as string)).stored);
    await log.flush();
    const ids = await Promise.all(written);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);

    for (const [i, person] of people.entries()) {
      const found = await repository.search<AuditEvent>('AuditEvent', {
        entity: `${PUBLIC_BASE}/Patient/${person}`,
        _count: 10,
      });
      const events = (found.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
      expect(events.map((e) => e.id)).toEqual([ids[i]]);
      const event = events[0] as AuditEvent;
      expect(patientEntity(event)).toEqual({ reference: `${PUBLIC_BASE}/Patient/${person}` });
      expect(event.entity?.some((e) => e.what?.identifier?.value === requestIds[i])).toBe(true);
    }
    // Nothing of it went to the clinical store.
    const inClinical = await clinical.search<AuditEvent>('AuditEvent', {
      entity: `Patient/${people[0] as string}`,
      _count: 1,
    });
    expect(inClinical.entry ?? []).toHaveLength(0);
  }, 120000);

  it('sends full groups at once and gathers the rest while a write is under way', async () => {
    const store = new GroupRecordingStore({ baseUrl: AUDIT_HAPI, timeoutMs: 60000, retryAfterSeconds: 5 });
    // Events reach the writer as the spool's group commits finish: the first one may come alone, and
    // waits here for company rather than going as a group of one.
    const log = new AuditLog(store, {
      spoolDir: freshSpoolDir(),
      maxBatch: 100,
      batchDelayMs: 1000,
      referenceBase: PUBLIC_BASE,
    });
    const person = uniqueId('audit-groups');
    const written = Array.from({ length: 250 }, () => log.record(access(person, uniqueId('req'))).stored);
    await log.flush();
    expect(store.groups).toEqual([100, 100, 50]);
    const ids = await Promise.all(written);
    expect(new Set(ids).size).toBe(250);
    const found = await repository.search<AuditEvent>('AuditEvent', {
      entity: `${PUBLIC_BASE}/Patient/${person}`,
      _summary: 'count',
    });
    expect(found.total).toBe(250);
  }, 120000);

  it('stores each event once when a group is written again after its answer was lost', async () => {
    const store = new LostFirstAnswerStore({ baseUrl: AUDIT_HAPI, timeoutMs: 60000, retryAfterSeconds: 5 });
    const log = new AuditLog(store, {
      spoolDir: freshSpoolDir(),
      batchDelayMs: 10,
      retryDelayMs: 10,
      referenceBase: PUBLIC_BASE,
    });
    const person = uniqueId('audit-again');
    const written = Array.from({ length: 5 }, () => log.record(access(person, uniqueId('req'))).stored);
    await log.flush();
    expect(store.calls).toBe(2);
    expect((await Promise.all(written)).every((id) => typeof id === 'string')).toBe(true);
    const found = await repository.search<AuditEvent>('AuditEvent', {
      entity: `${PUBLIC_BASE}/Patient/${person}`,
      _summary: 'count',
    });
    expect(found.total).toBe(5);
  }, 120000);

  it('gives up on an unreachable repository after its attempts: the event is reported lost, never thrown', async () => {
    const nowhere = new HapiStore({ baseUrl: 'http://127.0.0.1:9/fhir', timeoutMs: 1000, retryAfterSeconds: 5 });
    const log = new AuditLog(nowhere, {
      spoolDir: freshSpoolDir(),
      attempts: 2,
      retryDelayMs: 10,
      batchDelayMs: 10,
      referenceBase: PUBLIC_BASE,
    });
    const written = log.record(access(uniqueId('audit-lost'), uniqueId('req'))).stored;
    await log.flush();
    await expect(written).resolves.toBeUndefined();
  }, 30000);

  it('/ready checks the audit repository too', async () => {
    const readiness = { conformanceLoaded: true };
    const up = await request(
      createApp({ store: clinical, auditStore: repository, readiness, retryAfterSeconds: 5 }),
    ).get('/ready');
    expect(up.status).toBe(200);
    expect(up.body.checks).toMatchObject({ fhirStore: 'reachable', auditRepository: 'reachable' });

    const nowhere = new HapiStore({ baseUrl: 'http://127.0.0.1:9/fhir', timeoutMs: 1000, retryAfterSeconds: 5 });
    const down = await request(
      createApp({ store: clinical, auditStore: nowhere, readiness, retryAfterSeconds: 5 }),
    ).get('/ready');
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect(down.body.checks).toMatchObject({ fhirStore: 'reachable', auditRepository: 'unreachable' });

    const alone = await request(createApp({ store: clinical, readiness, retryAfterSeconds: 5 })).get('/ready');
    expect(alone.body.checks.auditRepository).toBeUndefined();
  }, 60000);
});
