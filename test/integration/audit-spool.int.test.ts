import request from 'supertest';
import type { AuditEvent, Bundle } from 'fhir/r4.js';
import { AuditLog, SPOOL_FAILED } from '../../src/audit/auditLog.js';
import { requestIdOf } from '../../src/audit/auditEvent.js';
import type { AccessRecord } from '../../src/auth/access.js';
import { HapiStore } from '../../src/store/hapiStore.js';
import type { StoreCallOptions } from '../../src/store/fhirStore.js';
import { unavailable } from '../../src/outcome/errors.js';
import { auditEventsFor, createAuthWorld, type AuthWorld } from '../support/authWorld.js';
import { fhirBaseUrl, testStore, uniqueId } from '../support/hapi.js';
import { freshSpoolDir, segmentFiles, spooledEvents } from '../support/spool.js';

/**
 * The audit spool with the real facade and the real HAPI: an answer leaves only once its
 * AuditEvent is on disk in the spool, a spool that cannot be written turns the answer into a 503,
 * and what an AuditLog could not deliver is delivered by the next one on the same directory.
 */

const access = (patientId: string, requestId: string): AccessRecord => ({
  resource: 'Patient',
  resourceId: patientId,
  interaction: 'read',
  patientId,
  outcome: 'success',
  requestId,
  time: new Date().toISOString(),
});

/** The real store, unreachable for its first call (a HAPI restarting), then itself again. */
class DownFirstStore extends HapiStore {
  calls = 0;

  override async bulkWrite(bundle: Bundle, options?: StoreCallOptions): Promise<Bundle> {
    if (++this.calls === 1) throw unavailable('The FHIR store is unreachable', 5);
    return super.bulkWrite(bundle, options);
  }
}

describe('audit spool (real facade, real HAPI, real identity provider)', () => {
  let world: AuthWorld;
  let holder: string;

  beforeAll(async () => {
    world = await createAuthWorld();
    holder = await world.token('budget-holder');
  });
  afterAll(async () => world.close());

  it('has the AuditEvent of every answer, allowed or refused, on disk in the spool when the answer arrives', async () => {
    const cases = [
      { url: `/fhir/Patient/${world.own}`, token: holder, status: 200, outcome: '0' },
      { url: `/fhir/Patient/${world.other}`, token: holder, status: 403, outcome: '4' },
      { url: `/fhir/Patient/${world.own}`, token: 'not-a-token', status: 401, outcome: '4' },
      { url: `/api/v1/budget-holders/${world.own}/consents`, token: holder, status: 200, outcome: '0' },
    ];
    for (const c of cases) {
      const sent = uniqueId('spooled');
      const res = await request(world.app)
        .get(c.url)
        .set('Authorization', `Bearer ${c.token}`)
        .set('X-Request-Id', sent);
      // Read at once, before anything else runs: the event was made durable before the answer left.
      const spooled = spooledEvents(world.spoolDir).filter((e) => requestIdOf(e) === sent);
      expect(res.status).toBe(c.status);
      expect(spooled).toHaveLength(1);
      expect(spooled[0]?.outcome).toBe(c.outcome);
    }
  });

  it("answers 503 in the face's own format, with none of the data, when the spool cannot be written", async () => {
    const own = await createAuthWorld();
    try {
      const token = await own.token('budget-holder');
      // A spool that takes no more appends (as one on a full disk does not).
      await own.auth.audit.close();
      const sent = uniqueId('unspooled');
      const fhir = await request(own.app)
        .get(`/fhir/Patient/${own.own}`)
        .set('Authorization', `Bearer ${token}`)
        .set('X-Request-Id', sent);
      expect(fhir.status).toBe(503);
      expect(fhir.headers['retry-after']).toBe('5');
      expect(fhir.headers['content-type']).toMatch(/^application\/fhir\+json/);
      // None of the record's own headers (its version ETag, Last-Modified) or body.
      expect(fhir.headers.etag).not.toMatch(/^W\/"\d+"$/);
      expect(fhir.headers['last-modified']).toBeUndefined();
      expect(fhir.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
      expect(JSON.stringify(fhir.body)).not.toContain(own.own);
      expect(fhir.headers['x-request-id']).toBe(sent);

      const api = await request(own.app)
        .get(`/api/v1/budget-holders/${own.own}/consents`)
        .set('Authorization', `Bearer ${token}`);
      expect(api.status).toBe(503);
      expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(api.body).toMatchObject({ status: 503, title: 'transient' });

      // The event is still sent to HAPI as well as can be, saying the answer failed.
      await own.auth.audit.flush();
      const stored = (await auditEventsFor(own.store, own.own)).find((e) => requestIdOf(e) === sent);
      expect(stored).toMatchObject({ outcome: '8', outcomeDesc: SPOOL_FAILED });
    } finally {
      await own.close();
    }
  });

  it('keeps what it could not deliver, and the next AuditLog on the directory delivers it and empties the spool', async () => {
    const dir = freshSpoolDir();
    const person = uniqueId('spool-left');
    const clinical = testStore();
    await clinical.update({ resourceType: 'Patient', id: person, active: true });
    const nowhere = new HapiStore({ baseUrl: 'http://127.0.0.1:9/fhir', timeoutMs: 1000, retryAfterSeconds: 5 });
    const first = new AuditLog(nowhere, { spoolDir: dir, attempts: 1, batchDelayMs: 10 });
    const requestIds = [uniqueId('req'), uniqueId('req'), uniqueId('req')];
    const recorded = requestIds.map((id) => first.record(access(person, id)));
    await Promise.all(recorded.map((r) => r.durable));
    await first.close();
    expect((await Promise.all(recorded.map((r) => r.stored))).every((id) => id === undefined)).toBe(true);
    expect(spooledEvents(dir).map(requestIdOf)).toEqual(requestIds);

    const next = new AuditLog(clinical, { spoolDir: dir, batchDelayMs: 10 });
    await next.close();
    const found = await clinical.search<AuditEvent>('AuditEvent', { entity: `Patient/${person}`, _count: 10 });
    const events = (found.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
    expect(events.map(requestIdOf).sort()).toEqual([...requestIds].sort());
    expect(segmentFiles(dir)).toEqual([]);
  }, 60000);

  it('sends what the repository could not take again later, without a restart', async () => {
    const dir = freshSpoolDir();
    const person = uniqueId('spool-again');
    const store = new DownFirstStore({ baseUrl: fhirBaseUrl(), timeoutMs: 15000, retryAfterSeconds: 5 });
    await store.update({ resourceType: 'Patient', id: person, active: true });
    const log = new AuditLog(store, { spoolDir: dir, attempts: 1, batchDelayMs: 10, redeliverDelayMs: 200 });
    const recorded = log.record(access(person, uniqueId('req')));
    await expect(recorded.stored).resolves.toBeUndefined();
    let events: AuditEvent[] = [];
    for (const deadline = Date.now() + 10000; events.length === 0 && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 200));
      const found = await store.search<AuditEvent>('AuditEvent', { entity: `Patient/${person}`, _count: 10 });
      events = (found.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
    }
    expect(store.calls).toBe(2);
    expect(events).toHaveLength(1);
    await log.close();
    expect(segmentFiles(dir)).toEqual([]);
  }, 30000);
});
