import type { Server } from 'node:http';
import { rmSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Bundle, EpisodeOfCare } from 'fhir/r4.js';
import { createApp } from '../../src/api/app.js';
import type { Auth } from '../../src/api/authSetup.js';
import { repoRoot } from '../../src/config/config.js';
import { SYSTEMS } from '../../src/fhir/common.js';
import type { HapiStore } from '../../src/store/hapiStore.js';
import { createAuthWorld, testAuth, type AuthWorld } from '../support/authWorld.js';
import { journeyPeople, storeSubmitter, submitterToken } from '../support/journeyDriver.js';
import { freshNhsNumber, OwnHapi, uniqueId, type HapiStoreKind } from '../support/hapi.js';

/**
 * HAPI killed (SIGKILL) or frozen (SIGSTOP) while clients write through /api/v1, each request
 * with its own Idempotency-Key and retried with it as Retry-After says. Afterwards every write
 * the facade acknowledged is in HAPI exactly once and whole; meanwhile clients saw only 503 with
 * Retry-After. On H2 and on PostgreSQL, each a HAPI of this file's own (ports TEST_CRASH_HAPI_PORT
 * and TEST_CRASH_PG_HAPI_PORT, data in data/hapi-crash-<store>), so the shared test HAPI is never touched.
 */
const PORTS = {
  h2: process.env.TEST_CRASH_HAPI_PORT ?? '8093',
  postgres: process.env.TEST_CRASH_PG_HAPI_PORT ?? '8095',
};
const CLIENTS = 10;
const PER_CLIENT = 25;
/** The facade's deadline for each HAPI call in this file (FHIR_TIMEOUT_MS). */
const TIMEOUT_MS = 4000;
const DEADLINE_MS = 8 * 60 * 1000;

interface Acknowledged {
  nhsNumber: string;
  journeyId: string;
  holderId: string;
}

interface Burst {
  acknowledged: Acknowledged[];
  /** Every answer other than the final 201s: status -> count. */
  others: Map<number, number>;
  /** Answers other than 503 with Retry-After (and the 201s). */
  unexpected: string[];
  /** Writes still unacknowledged at the deadline. */
  unfinished: number;
  /** Longest time a refused request took to be answered, in ms. */
  slowestRefusalMs: number;
}

const STORES: { store: HapiStoreKind; port: string }[] = [
  { store: 'h2', port: PORTS.h2 },
  { store: 'postgres', port: PORTS.postgres },
];

describe.each(STORES)('HAPI on $store crashes under idempotent writes through /api/v1', ({ store: kind, port }) => {
  const dataDir = path.join(repoRoot, 'data', `hapi-crash-${kind}`);
  const hapi = new OwnHapi({ store: kind, port, dataDir });
  let store: HapiStore;
  let world: AuthWorld;
  let server: Server | undefined;
  let facadeAuth: Auth | undefined;
  let token = '';
  let careTeam: string[] = [];

  beforeAll(async () => {
    // A new database each run: every NHS number a client sends is then new to it, and the first
    // writes of each resource type meet HAPI's own races too.
    rmSync(dataDir, { recursive: true, force: true });
    await hapi.start();
    // Setting up and checking may wait for a busy HAPI; the facade under test has the short deadline.
    store = hapi.store(60000);
    const people = journeyPeople(0);
    world = await createAuthWorld({ extraUsers: people.users, store });
    await storeSubmitter(store, people);
    token = await submitterToken(world, people);
    careTeam = [world.staffRoleIds['care-coordinator'], people.submitterRoleId];
    const facadeStore = hapi.store(TIMEOUT_MS);
    facadeAuth = testAuth(facadeStore, world.identity.issuer, { timeoutMs: TIMEOUT_MS });
    server = createApp({
      store: facadeStore,
      readiness: { conformanceLoaded: true },
      retryAfterSeconds: 5,
      auth: facadeAuth,
    }).listen(0, '127.0.0.1');
  }, 600000);

  afterAll(async () => {
    if (server) await new Promise((r) => server?.close(r));
    await facadeAuth?.audit.close();
    await world?.close();
    await hapi.stop();
  }, 180000);

  /** CLIENTS loops each making PER_CLIENT referrals, every one retried with its key until 201; `during` runs alongside. */
  async function burst(during: (acknowledged: () => number) => Promise<void>): Promise<Burst> {
    const result: Burst = { acknowledged: [], others: new Map(), unexpected: [], unfinished: 0, slowestRefusalMs: 0 };
    const until = Date.now() + DEADLINE_MS;
    const client = async (c: number): Promise<void> => {
      for (let i = 0; i < PER_CLIENT; i++) {
        const nhsNumber = freshNhsNumber();
        const key = uniqueId(`crash-${c}-${i}`);
        const body = {
          person: { nhsNumber, name: 'Crash Test', birthDate: '1985-05-05' },
          kind: 'one-off',
          cohort: 'mental-health-recovery',
          start: '2026-01-05',
          careTeam,
        };
        for (;;) {
          if (Date.now() > until) {
            result.unfinished++;
            break;
          }
          const sent = Date.now();
          const res = await request(server as Server)
            .post('/api/v1/referrals')
            .set('Authorization', `Bearer ${token}`)
            .set('Idempotency-Key', key)
            .send(body);
          if (res.status === 201) {
            result.acknowledged.push({ nhsNumber, journeyId: res.body.id, holderId: res.body.budgetHolderId });
            break;
          }
          result.slowestRefusalMs = Math.max(result.slowestRefusalMs, Date.now() - sent);
          result.others.set(res.status, (result.others.get(res.status) ?? 0) + 1);
          const retryAfter = Number(res.headers['retry-after']);
          if (res.status !== 503 || !(retryAfter > 0))
            result.unexpected.push(`${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
          await new Promise((r) => setTimeout(r, (retryAfter > 0 ? retryAfter : 1) * 1000));
        }
      }
    };
    await Promise.all([
      ...Array.from({ length: CLIENTS }, (_, c) => client(c)),
      during(() => result.acknowledged.length),
    ]);
    return result;
  }

  const count = async (type: string, params: Record<string, string>): Promise<number> =>
    ((await store.search(type as 'Task', { ...params, _summary: 'count' })) as Bundle).total ?? -1;

  /** Each acknowledged referral: its journey there (else lost), the person, journey, care team and write Provenance once each (else duplicated or half-written). */
  async function audit(
    acknowledged: Acknowledged[],
  ): Promise<{ present: number; lost: number; duplicated: number; halfWritten: number }> {
    const tally = { present: 0, lost: 0, duplicated: 0, halfWritten: 0 };
    const odd: string[] = [];
    const queue = [...acknowledged];
    const worker = async (): Promise<void> => {
      for (let a = queue.shift(); a; a = queue.shift()) {
        const journey = await store.readIfExists<EpisodeOfCare>('EpisodeOfCare', a.journeyId);
        if (!journey) {
          tally.lost++;
          continue;
        }
        const holder = `Patient/${a.holderId}`;
        const counts = [
          await count('Patient', { identifier: `${SYSTEMS.nhsNumber}|${a.nhsNumber}` }),
          await count('EpisodeOfCare', { patient: holder }),
          await count('CareTeam', { subject: holder }),
          await count('Provenance', { target: `EpisodeOfCare/${a.journeyId}` }),
        ];
        if (counts.some((n) => n === 0)) tally.halfWritten++;
        else if (counts.some((n) => n > 1)) tally.duplicated++;
        else tally.present++;
        if (counts.some((n) => n !== 1))
          odd.push(`journey ${a.journeyId}: Patient, EpisodeOfCare, CareTeam, Provenance = ${counts.join(', ')}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    if (odd.length) process.stdout.write(`not once and whole: ${odd.join('; ')}\n`);
    return tally;
  }

  const report = (name: string, b: Burst, t: Awaited<ReturnType<typeof audit>>): void => {
    process.stdout.write(
      `${name}: acknowledged ${b.acknowledged.length} (unfinished ${b.unfinished}), present once ${t.present}, lost ${t.lost}, duplicated ${t.duplicated}, ` +
        `half-written ${t.halfWritten}; refusals ${JSON.stringify(Object.fromEntries(b.others))}, slowest refusal ${b.slowestRefusalMs} ms\n`,
    );
    if (b.unexpected.length)
      process.stdout.write(`${name}: unexpected answers (first 5): ${b.unexpected.slice(0, 5).join(' | ')}\n`);
  };

  it(
    'SIGKILL mid-burst and a restart: every acknowledged write there once and whole, clients saw only 503 + Retry-After',
    async () => {
      let killedAt = 0;
      const b = await burst(async (acknowledged) => {
        while (acknowledged() < 60) await new Promise((r) => setTimeout(r, 50));
        killedAt = acknowledged();
        await hapi.kill();
        await hapi.start();
      });
      const t = await audit(b.acknowledged);
      report(`HAPI on ${kind} SIGKILL`, b, t);
      expect(killedAt).toBeGreaterThan(0);
      expect(killedAt).toBeLessThan(CLIENTS * PER_CLIENT);
      expect(b.acknowledged).toHaveLength(CLIENTS * PER_CLIENT);
      expect(b.others.get(503) ?? 0).toBeGreaterThan(0);
      expect(b.unexpected).toEqual([]);
      expect(t).toEqual({ present: CLIENTS * PER_CLIENT, lost: 0, duplicated: 0, halfWritten: 0 });
    },
    DEADLINE_MS + 120000,
  );

  it(
    'SIGSTOP for 15 s: 503 within the deadline, no hang, nothing written twice after SIGCONT',
    async () => {
      const b = await burst(async (acknowledged) => {
        while (acknowledged() < 40) await new Promise((r) => setTimeout(r, 50));
        hapi.signal('SIGSTOP');
        try {
          await new Promise((r) => setTimeout(r, 15000));
        } finally {
          hapi.signal('SIGCONT');
        }
      });
      const t = await audit(b.acknowledged);
      report(`HAPI on ${kind} SIGSTOP 15 s`, b, t);
      expect(b.acknowledged).toHaveLength(CLIENTS * PER_CLIENT);
      expect(b.others.get(503) ?? 0).toBeGreaterThan(0);
      expect(b.unexpected).toEqual([]);
      // A refusal comes within one HAPI deadline (plus the time of the calls made before the freeze).
      expect(b.slowestRefusalMs).toBeLessThan(TIMEOUT_MS + 3000);
      expect(t).toEqual({ present: CLIENTS * PER_CLIENT, lost: 0, duplicated: 0, halfWritten: 0 });
    },
    DEADLINE_MS + 120000,
  );
});
