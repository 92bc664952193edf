import path from 'node:path';
import type { Patient } from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';
import { AppError } from '../../src/outcome/errors.js';
import { HapiStore } from '../../src/store/hapiStore.js';
import { postgresControl, startHapi, uniqueId, type StartedHapi } from '../support/hapi.js';

/**
 * PostgreSQL stopped and started under a running HAPI: a HAPI and a cluster of this file's own
 * (loopback), written to through the store adapter the facade uses, while the database goes away
 * for a few seconds and comes back.
 */

const HAPI_PORT = process.env.TEST_PG_OUTAGE_HAPI_PORT ?? '8099';
const CLUSTER = {
  port: process.env.TEST_PG_OUTAGE_PG_PORT ?? '5437',
  dataDir: path.join(repoRoot, 'data', 'postgres-outage-test'),
};
const SYSTEM = 'urn:phb:test:postgres-outage';
const BOOT_MS = 600000;
const OUTAGE_MS = 6000;

interface Refusal {
  status: number;
  retryAfterSeconds?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up after ${limitMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

describe('HAPI on PostgreSQL while PostgreSQL stops and starts', () => {
  let hapi: StartedHapi | undefined;
  let store: HapiStore;
  /** Identifier values of the creates HAPI acknowledged, and of those it refused. */
  const acknowledged: string[] = [];
  const refused: string[] = [];
  const refusals: Refusal[] = [];

  beforeAll(async () => {
    hapi = await startHapi({
      store: 'postgres',
      port: HAPI_PORT,
      dataDir: path.join(repoRoot, 'data', 'hapi-outage-test'),
      postgres: CLUSTER,
    });
    store = new HapiStore({ baseUrl: hapi.baseUrl, timeoutMs: 10000, retryAfterSeconds: 5 });
  }, BOOT_MS);

  afterAll(async () => {
    await hapi?.stop();
    await postgresControl('stop', CLUSTER);
  }, 120000);

  it('refuses what it cannot store, recovers without a HAPI restart, and keeps every acknowledged write exactly once', async () => {
    let writing = true;
    // One client writing one create after another throughout: before, during and after the outage.
    const writer = (async () => {
      while (writing) {
        const value = uniqueId('outage');
        try {
          await store.create<Patient>({
            resourceType: 'Patient',
            identifier: [{ system: SYSTEM, value }],
            birthDate: '1990-01-01',
          });
          acknowledged.push(value);
        } catch (e) {
          if (!(e instanceof AppError)) throw e;
          refused.push(value);
          refusals.push({ status: e.status, retryAfterSeconds: e.options.retryAfterSeconds });
        }
      }
    })();
    try {
      await until('three writes before the outage', () => acknowledged.length >= 3, 60000);
      await postgresControl('stop', CLUSTER);
      await sleep(OUTAGE_MS);
      // Reads fail too while the database is away.
      await expect(
        store.search<Patient>('Patient', { identifier: `${SYSTEM}|${acknowledged[0]}` }),
      ).rejects.toBeInstanceOf(AppError);
      await postgresControl('start', CLUSTER);
      const before = acknowledged.length;
      // Hikari replaces the dead connections by itself; a bounded wait for the first success.
      await until('three writes after the restart', () => acknowledged.length >= before + 3, 60000);
    } finally {
      writing = false;
      await writer;
    }

    expect(refusals.length).toBeGreaterThan(0);
    // Server errors, never a client error for a write that was fine.
    for (const r of refusals) expect(r.status).toBeGreaterThanOrEqual(500);
    // The same process throughout: no restart was needed.
    const pid = hapi?.pid ?? 0;
    expect(pid).toBeGreaterThan(1);
    expect(() => process.kill(pid, 0)).not.toThrow();

    for (const value of acknowledged) {
      const found = await store.search<Patient>('Patient', { identifier: `${SYSTEM}|${value}` });
      expect({ value, total: found.entry?.length ?? 0 }).toEqual({ value, total: 1 });
    }
    // A refused create is never stored twice (HAPI had no database to store it in at all).
    for (const value of refused) {
      const found = await store.search<Patient>('Patient', { identifier: `${SYSTEM}|${value}` });
      expect({ value, total: found.entry?.length ?? 0 }).toEqual({ value, total: 0 });
    }
  }, 240000);

  // HAPI answers 500 with an OperationOutcome naming CannotCreateTransactionException (or, on a
  // pooled connection that died, "Unable to rollback against JDBC Connection"): the adapter
  // answers 503 with Retry-After.
  it('answers 503 with Retry-After while the database is down', () => {
    expect(refusals.length).toBeGreaterThan(0);
    for (const r of refusals) expect(r).toEqual({ status: 503, retryAfterSeconds: 5 });
  });
});
