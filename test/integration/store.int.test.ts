import net from 'node:net';
import type { Bundle, Organization, Patient } from 'fhir/r4.js';
import { AppError } from '../../src/outcome/errors.js';
import { HapiStore } from '../../src/store/hapiStore.js';
import { testStore, uniqueId } from '../support/hapi.js';

const store = testStore();

function patient(id: string, family = 'Okafor'): Patient & { id: string } {
  return { resourceType: 'Patient', id, name: [{ family }], birthDate: '1984-03-12' };
}

async function expectAppError(promise: Promise<unknown>): Promise<AppError> {
  const e: unknown = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

describe('HAPI store adapter against the real HAPI server', () => {
  it('creates by PUT with a client id, reads it back with its version', async () => {
    const id = uniqueId('pt');
    const written = await store.update(patient(id));
    expect(written.created).toBe(true);
    expect(written.versionId).toBe('1');
    const read = await store.read<Patient>('Patient', id);
    expect(read.id).toBe(id);
    expect(read.meta?.versionId).toBe('1');
    expect(read.name?.[0]?.family).toBe('Okafor');
  });

  it('accepts an update carrying the current version and refuses one carrying a stale version', async () => {
    const id = uniqueId('pt');
    await store.update(patient(id));
    const second = await store.update(patient(id, 'Mensah'), { ifMatchVersion: '1' });
    expect(second.versionId).toBe('2');
    expect(second.created).toBe(false);

    const stale = await expectAppError(store.update(patient(id, 'Patel'), { ifMatchVersion: '1' }));
    expect(stale.options.reason).toBe('version-conflict');
    expect([409, 412]).toContain(stale.status);
    const after = await store.read<Patient>('Patient', id);
    expect(after.name?.[0]?.family).toBe('Mensah');
    expect(after.meta?.versionId).toBe('2');
  });

  it('makes one resource when the same conditional create is sent twice', async () => {
    const system = 'https://example.org/test-idempotency';
    const value = uniqueId('key');
    const org: Organization = { resourceType: 'Organization', identifier: [{ system, value }], name: 'Test provider' };
    const first = await store.create(org, { ifNoneExist: `identifier=${system}|${value}` });
    const second = await store.create(org, { ifNoneExist: `identifier=${system}|${value}` });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.resource.id).toBe(first.resource.id);
    const found = await store.search('Organization', { identifier: `${system}|${value}` });
    expect(found.total ?? found.entry?.length).toBe(1);
  });

  it('sees a write in a search made straight after it', async () => {
    const id = uniqueId('pt');
    const family = uniqueId('fam');
    const before = await store.search('Patient', { family });
    expect(before.entry ?? []).toHaveLength(0);
    await store.update(patient(id, family));
    const after = await store.search('Patient', { family });
    expect(after.entry?.map((e) => e.resource?.id)).toEqual([id]);
  });

  it('writes every entry of a transaction, or none when one entry is invalid', async () => {
    const orgId = uniqueId('org');
    const ptId = uniqueId('pt');
    const good: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'Organization', id: orgId, name: 'GP practice' },
          request: { method: 'PUT', url: `Organization/${orgId}` },
        },
        {
          resource: { ...patient(ptId), managingOrganization: { reference: `Organization/${orgId}` } },
          request: { method: 'PUT', url: `Patient/${ptId}` },
        },
      ],
    };
    const response = await store.transaction(good);
    expect(response.type).toBe('transaction-response');
    expect(response.entry?.map((e) => e.response?.status.slice(0, 3))).toEqual(['201', '201']);

    const badPt = uniqueId('pt');
    const bad: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: patient(badPt), request: { method: 'PUT', url: `Patient/${badPt}` } },
        // A reference to a resource that does not exist: HAPI refuses the whole transaction.
        {
          resource: {
            resourceType: 'Patient',
            id: uniqueId('pt'),
            managingOrganization: { reference: `Organization/${uniqueId('missing')}` },
          },
          request: { method: 'POST', url: 'Patient' },
        },
      ],
    };
    const refused = await expectAppError(store.transaction(bad));
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    const notWritten = await expectAppError(store.read('Patient', badPt));
    expect(notWritten.status).toBe(404);
  });

  it('readIfExists gives undefined for a missing resource and the resource when it exists', async () => {
    expect(await store.readIfExists('Patient', uniqueId('absent'))).toBeUndefined();
    const id = uniqueId('pt');
    await store.update(patient(id));
    expect((await store.readIfExists<Patient>('Patient', id))?.id).toBe(id);
  });

  it("keeps HAPI's status and OperationOutcome when HAPI refuses a request", async () => {
    const missing = await expectAppError(store.read('Patient', uniqueId('absent')));
    expect(missing.status).toBe(404);
    expect(missing.options.reason).toBe('not-found');
    expect(missing.options.outcome?.resourceType).toBe('OperationOutcome');
    expect(missing.issues[0]?.diagnostics).toMatch(/not known|not found/i);
  });
});

describe('HAPI store adapter when HAPI is down or slow', () => {
  it('answers 503 with Retry-After when nothing listens', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const down = new HapiStore({ baseUrl: `http://127.0.0.1:${port}/fhir`, timeoutMs: 2000, retryAfterSeconds: 7 });
    const e = await expectAppError(down.read('Patient', 'x'));
    expect(e.status).toBe(503);
    expect(e.options.retryAfterSeconds).toBe(7);
    expect(e.issues[0]?.code).toBe('transient');
  });

  it('gives up after its timeout when the server accepts but never answers', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const slow = new HapiStore({ baseUrl: `http://127.0.0.1:${port}/fhir`, timeoutMs: 500, retryAfterSeconds: 5 });
      const started = Date.now();
      const e = await expectAppError(slow.read('Patient', 'x'));
      expect(e.status).toBe(503);
      expect(e.message).toMatch(/did not answer within 500 ms/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
