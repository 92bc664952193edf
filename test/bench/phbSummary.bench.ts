/**
 * Benchmark: "my PHB" through the facade versus the same search straight to HAPI, in one run.
 * Not part of `npm test`. Run with `npm run bench` (scripts/bench.sh starts the servers and pins
 * them to CPUs; see README, "Benchmark").
 *
 * It seeds BENCH_PEOPLE budget holders (default 1000; kept between runs, so later runs only
 * check they exist), each with a PHB and an active PHR-app consent; starts a real identity
 * provider and gets one PHR-app token per person by the authorization-code flow; starts the
 * facade as its own process (auth, consent check and audit all on); then sends the summary
 * request with BENCH_CLIENTS concurrent clients (default 20), alternating blocks of direct and
 * facade requests (BENCH_REQUESTS each, default 2000), and reports p50, p95, throughput and the
 * facade/direct ratio. Bounded: fixed request counts and an overall deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Patient } from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';
import * as consent from '../../src/fhir/consent.js';
import { summarySearch } from '../../src/fhir/summary.js';
import { HapiStore, SEARCH_HEADERS, STORE_HEADERS } from '../../src/store/hapiStore.js';
import { seedPhb } from '../support/phbRecords.js';
import { PASSWORD, TEST_AUDIENCE, TestIdentity } from '../support/identity.js';

const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
const FHIR = env('FHIR_BASE_URL', 'http://127.0.0.1:8090/fhir');
/** Where the facade writes its AuditEvents: the clinical HAPI unless an audit repository is named. */
const AUDIT = env('AUDIT_FHIR_BASE_URL', FHIR);
const PEOPLE = Number(env('BENCH_PEOPLE', '1000'));
const CLIENTS = Number(env('BENCH_CLIENTS', '20'));
const REQUESTS = Number(env('BENCH_REQUESTS', '2000'));
const WARMUP = Number(env('BENCH_WARMUP', '1000'));
const FACADE_PORT = Number(env('BENCH_FACADE_PORT', '8089'));
const DEADLINE_MS = Number(env('BENCH_DEADLINE_MS', String(20 * 60_000)));
/**
 * Processes whose CPU time per request is reported for each path, as `name:pid,...` (scripts/bench.sh
 * passes the HAPI servers); the facade and this process are always added.
 */
const WATCHED = (process.env.BENCH_WATCH_PIDS ?? '')
  .split(',')
  .filter((p) => p.includes(':'))
  .map((p) => p.split(':') as [string, string]);
const PHR_APP = 'bench-phr-app';
const PREFIX = 'bench-v1';

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

async function seed(store: HapiStore, ids: string[]): Promise<void> {
  const last = ids[ids.length - 1] as string;
  const done = await store.search<Patient>('Patient', { _id: last, _count: 1 });
  if ((done.entry ?? []).length > 0) {
    print(`seed: ${ids.length} budget holders already in HAPI`);
    return;
  }
  const started = performance.now();
  await inBatches(ids, 8, async (id) => {
    await store.transaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', id, active: true }, request: { method: 'PUT', url: `Patient/${id}` } },
        {
          resource: {
            ...consent.toFhir({
              id: `${id}-consent`,
              budgetHolderId: id,
              recipient: PHR_APP,
              status: 'active',
              dateTime: new Date().toISOString(),
            }),
            id: `${id}-consent`,
          },
          request: { method: 'PUT', url: `Consent/${id}-consent` },
        },
      ],
    });
    await seedPhb(store, id);
  });
  print(`seed: ${ids.length} budget holders written in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

async function startFacade(issuer: string): Promise<ChildProcess> {
  // BENCH_FACADE_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, to see where the facade spends its time.
  const nodeArgs = (process.env.BENCH_FACADE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, path.join(repoRoot, 'dist', 'src', 'main.js')], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(FACADE_PORT),
      FHIR_BASE_URL: FHIR,
      OIDC_ISSUERS: issuer,
      OIDC_AUDIENCE: TEST_AUDIENCE,
      PHR_APP_CLIENTS: PHR_APP,
      LOG_LEVEL: env('BENCH_LOG_LEVEL', 'info'),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${FACADE_PORT}/ready`)).status === 200) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill();
  throw new Error('the facade did not become ready');
}

interface Block {
  latencies: number[];
  wallMs: number;
  errors: number;
  cpuMs: Map<string, number>;
}

/** CPU time (user + system) a process has used so far, in ms; NaN when unknown. */
function cpuMsOf(pid: string): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
  } catch {
    return Number.NaN;
  }
}

const watched = new Map<string, string>([...WATCHED, ['bench', String(process.pid)]]);
const cpuNow = (): Map<string, number> => new Map([...watched].map(([name, pid]) => [name, cpuMsOf(pid)]));

async function run(count: number, request: (i: number) => Promise<Response>, deadline: number): Promise<Block> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const cpuBefore = cpuNow();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < count && Date.now() < deadline) {
        const i = next++;
        const t0 = performance.now();
        const res = await request(i);
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (res.status !== 200) errors++;
      }
    }),
  );
  return {
    latencies,
    wallMs: performance.now() - started,
    errors,
    cpuMs: new Map([...cpuNow()].map(([name, ms]) => [name, ms - (cpuBefore.get(name) ?? Number.NaN)])),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(blocks: Block[]): { p50: number; p95: number; rps: number; n: number; errors: number; cpu: string } {
  const all = blocks.flatMap((b) => b.latencies).sort((a, b) => a - b);
  const wall = blocks.reduce((a, b) => a + b.wallMs, 0);
  const cpu = [...watched.keys()]
    .map((name) => `${name} ${(blocks.reduce((a, b) => a + (b.cpuMs.get(name) ?? 0), 0) / all.length).toFixed(1)}`)
    .join(', ');
  return {
    p50: percentile(all, 50),
    p95: percentile(all, 95),
    rps: (all.length / wall) * 1000,
    n: all.length,
    errors: blocks.reduce((a, b) => a + b.errors, 0),
    cpu,
  };
}

async function auditEventCount(): Promise<number> {
  const res = await fetch(`${AUDIT}/AuditEvent?_summary=count`, {
    headers: { accept: 'application/fhir+json', 'cache-control': 'no-cache' },
  });
  return ((await res.json()) as { total?: number }).total ?? Number.NaN;
}

async function main(): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  const store = new HapiStore({ baseUrl: FHIR, timeoutMs: 30000, retryAfterSeconds: 5 });
  const ids = Array.from({ length: PEOPLE }, (_, i) => `${PREFIX}-${String(i).padStart(5, '0')}`);
  await seed(store, ids);

  const users = ids.map((id) => ({
    username: id,
    password: PASSWORD,
    claims: { fhirUser: `Patient/${id}`, patient: id },
  }));
  const identity = new TestIdentity(
    users,
    [
      {
        client_id: PHR_APP,
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1:3000/callback'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    {},
  );
  await identity.start();
  let facade: ChildProcess | undefined;
  try {
    const tokens = new Map<string, string>();
    const t0 = performance.now();
    await inBatches(ids, 10, async (id) => {
      tokens.set(
        id,
        (await identity.authorizationCode({ clientId: PHR_APP }, id, 'openid fhirUser launch/patient patient/*.rs'))
          .accessToken,
      );
    });
    print(
      `tokens: ${tokens.size} PHR-app tokens by authorization code in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    facade = await startFacade(identity.issuer);
    if (facade.pid !== undefined) watched.set('facade', String(facade.pid));
    const auditBefore = await auditEventCount();

    const person = (i: number): string => ids[(i * 7919) % ids.length] as string;
    const directUrl = (id: string): string => {
      const url = new URL(`${FHIR}/Patient`);
      for (const [k, v] of Object.entries(summarySearch(id)))
        for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(one));
      return url.toString();
    };
    // The very request the facade's store sends HAPI for the summary, headers included.
    const directHeaders = { accept: 'application/fhir+json', ...STORE_HEADERS, ...SEARCH_HEADERS };
    const direct = (i: number): Promise<Response> => fetch(directUrl(person(i)), { headers: directHeaders });
    const viaFacade = (i: number): Promise<Response> => {
      const id = person(i);
      return fetch(`http://127.0.0.1:${FACADE_PORT}/fhir/Patient/${id}/$phb-summary`, {
        headers: { accept: 'application/fhir+json', authorization: `Bearer ${tokens.get(id) ?? ''}` },
      });
    };

    // Warm both paths (JIT of freshly started servers, connection pools, HAPI caches), then
    // measure in blocks ordered direct, facade, facade, direct, so drift hits both alike.
    await run(WARMUP, direct, deadline);
    const warm = await run(WARMUP, viaFacade, deadline);
    const half = Math.ceil(REQUESTS / 2);
    const directBlocks: Block[] = [];
    const facadeBlocks: Block[] = [];
    directBlocks.push(await run(half, direct, deadline));
    facadeBlocks.push(await run(half, viaFacade, deadline));
    facadeBlocks.push(await run(half, (i) => viaFacade(i + half), deadline));
    directBlocks.push(await run(half, (i) => direct(i + half), deadline));
    if (Date.now() >= deadline) print('deadline reached: figures are from the requests completed');
    // Stopping the facade writes the audit events still queued, so every request can be counted.
    facade.kill('SIGTERM');
    await Promise.race([once(facade, 'exit'), new Promise((r) => setTimeout(r, 15000))]);
    facade = undefined;
    const audited = (await auditEventCount()) - auditBefore;
    const d = summary(directBlocks);
    const f = summary(facadeBlocks);
    print(
      `topology ${env('BENCH_TOPOLOGY', 'as started')}, audit to ${AUDIT === FHIR ? 'the clinical HAPI' : 'a separate audit repository'}`,
    );
    print(`people ${PEOPLE}, clients ${CLIENTS}, requests per path ${d.n} / ${f.n}`);
    print(`AuditEvents written: ${audited} for ${warm.latencies.length + f.n} facade requests (warm-up included)`);
    print('path    | p50 ms | p95 ms | req/s | errors | CPU ms per request');
    print(`direct  | ${d.p50.toFixed(1)} | ${d.p95.toFixed(1)} | ${d.rps.toFixed(0)} | ${d.errors} | ${d.cpu}`);
    print(`facade  | ${f.p50.toFixed(1)} | ${f.p95.toFixed(1)} | ${f.rps.toFixed(0)} | ${f.errors} | ${f.cpu}`);
    print(
      `ratio facade/direct: p50 ${(f.p50 / d.p50).toFixed(2)}, p95 ${(f.p95 / d.p95).toFixed(2)}, throughput ${(d.rps / f.rps).toFixed(2)}`,
    );
  } finally {
    if (facade) {
      facade.kill('SIGTERM');
      await Promise.race([once(facade, 'exit'), new Promise((r) => setTimeout(r, 15000))]);
    }
    await identity.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
