/**
 * Experiment: does every write HAPI acknowledges survive SIGKILL of HAPI on the embedded H2 database, and what
 * does that cost? Not part of `npm test`. Run with
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/hapiDurability.bench.js
 *
 * For each H2 URL (`WRITE_DELAY` left at H2's default of 500 ms, and `WRITE_DELAY=0`) it runs a HAPI of ours, on
 * DURABILITY_PORT (default 8386) and the port after it, with a data dir data/durability-<variant> (delete it for a
 * fresh database), and in DURABILITY_RUNS rounds (default 3; the order of the two variants alternates):
 *  - throughput (first two rounds): DURABILITY_PUTS single-Patient PUTs (default 2000), then DURABILITY_TRANSACTIONS
 *    10-entry transactions (default 300), from 10 concurrent clients; the H2 file's size before and after;
 *  - crash: 10 concurrent loops PUT Patients with client ids; after DURABILITY_KILL_AFTER_MS (default 3000) HAPI
 *    is killed with SIGKILL, started again, and every id it acknowledged (2xx) is read back.
 * Prints one JSON line per measurement and a summary. Bounded: fixed write counts, 30 s per request.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { repoRoot } from '../../src/config/config.js';
import { hapiControl, killHapi } from '../support/hapi.js';

const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
const PORT = Number(env('DURABILITY_PORT', '8386'));
const RUNS = Number(env('DURABILITY_RUNS', '3'));
const PUTS = Number(env('DURABILITY_PUTS', '2000'));
const TRANSACTIONS = Number(env('DURABILITY_TRANSACTIONS', '300'));
const KILL_AFTER_MS = Number(env('DURABILITY_KILL_AFTER_MS', '3000'));
const CLIENTS = 10;
const REQUEST_TIMEOUT_MS = 30000;

interface Variant {
  name: string;
  port: number;
  base: string;
  dir: string;
  url: string;
}

// One HAPI per variant, both running, so each crash costs one restart; the idle one takes next to no CPU.
const VARIANTS: Variant[] = ['write-delay-default', 'write-delay-0'].map((name, i) => {
  const dir = path.join(repoRoot, 'data', `durability-${name}`);
  const url = `jdbc:h2:file:${dir}/h2/hapi;DB_CLOSE_ON_EXIT=FALSE${name === 'write-delay-0' ? ';WRITE_DELAY=0' : ''}`;
  return { name, port: PORT + i, base: `http://127.0.0.1:${PORT + i}/fhir`, dir, url };
});

const hapiEnv = (v: Variant): NodeJS.ProcessEnv & { HAPI_DATA_DIR: string } => ({
  ...process.env,
  HAPI_PORT: String(v.port),
  HAPI_DATA_DIR: v.dir,
  HAPI_DB_URL: v.url,
});

const RUN = Date.now().toString(36);

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function put(base: string, id: string): Promise<number> {
  const res = await fetch(`${base}/Patient/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
    body: JSON.stringify({
      resourceType: 'Patient',
      id,
      name: [{ family: 'Durability', given: [id] }],
      birthDate: '1970-01-01',
    }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  await res.arrayBuffer();
  return res.status;
}

async function transaction(base: string, ids: string[]): Promise<number> {
  const res = await fetch(base, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
    body: JSON.stringify({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: ids.map((id) => ({
        resource: { resourceType: 'Patient', id, name: [{ family: 'Durability', given: [id] }] },
        request: { method: 'PUT', url: `Patient/${id}` },
      })),
    }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * Runs `count` jobs from CLIENTS concurrent clients; returns jobs per second. A job failing at the connection is
 * sent once more (every job is a PUT with a client id: repeating it changes nothing); any other failure stops the run.
 */
async function rate(count: number, job: (i: number) => Promise<number>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < count; i = next++) {
        const status = await job(i).catch(() => job(i));
        if (status >= 300) throw new Error(`write ${i} answered ${status}`);
      }
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

const fileSize = (v: Variant): number => statSync(path.join(v.dir, 'h2', 'hapi.mv.db')).size;

async function throughput(v: Variant, round: number): Promise<void> {
  const before = fileSize(v);
  const puts = await rate(PUTS, (i) => put(v.base, `tp-${RUN}-${round}-${i}`));
  const afterPuts = fileSize(v);
  const txs = await rate(TRANSACTIONS, (i) =>
    transaction(
      v.base,
      Array.from({ length: 10 }, (_, k) => `tx-${RUN}-${round}-${i}-${k}`),
    ),
  );
  const after = fileSize(v);
  say(
    JSON.stringify({
      measure: 'throughput',
      variant: v.name,
      round,
      putsPerSecond: Math.round(puts),
      transactionsPerSecond: Math.round(txs * 10) / 10,
      fileBytesBefore: before,
      fileBytesAfterPuts: afterPuts,
      fileBytesAfter: after,
    }),
  );
}

interface CrashResult {
  acknowledged: number;
  present: number;
  lost: number;
}

async function crash(v: Variant, round: number): Promise<CrashResult> {
  const acknowledged: string[] = [];
  let stopped = false;
  const loops = Array.from({ length: CLIENTS }, async (_, loop) => {
    for (let n = 0; !stopped; n++) {
      const id = `crash-${RUN}-${round}-${loop}-${n}`;
      try {
        if ((await put(v.base, id)) < 300) acknowledged.push(id);
      } catch {
        return; // HAPI is gone
      }
    }
  });
  await new Promise((r) => setTimeout(r, KILL_AFTER_MS));
  const pid = await killHapi(hapiEnv(v));
  const ackedAtKill = acknowledged.length;
  stopped = true;
  await Promise.all(loops);
  await hapiControl('start', hapiEnv(v));
  let present = 0;
  const lostIds: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < acknowledged.length; i = next++) {
        const id = acknowledged[i] as string;
        const res = await fetch(`${v.base}/Patient/${id}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        await res.arrayBuffer();
        if (res.status === 200) present++;
        else if (res.status === 404 || res.status === 410) lostIds.push(id);
        else throw new Error(`read of ${id} answered ${res.status}`);
      }
    }),
  );
  const result = { acknowledged: acknowledged.length, present, lost: lostIds.length };
  say(
    JSON.stringify({
      measure: 'crash',
      variant: v.name,
      round,
      killedPid: pid,
      ackedAtKill,
      ...result,
      lostExamples: lostIds.slice(0, 3),
    }),
  );
  return result;
}

async function main(): Promise<void> {
  const crashes = new Map<string, CrashResult[]>();
  try {
    for (const v of VARIANTS) await hapiControl('start', hapiEnv(v));
    for (let round = 0; round < RUNS; round++) {
      const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const v of order) {
        if (round < 2) await throughput(v, round);
        const result = await crash(v, round);
        crashes.set(v.name, [...(crashes.get(v.name) ?? []), result]);
      }
    }
  } finally {
    for (const v of VARIANTS) await hapiControl('stop', hapiEnv(v));
  }
  for (const [name, results] of crashes) {
    const sum = (k: keyof CrashResult): number => results.reduce((a, r) => a + r[k], 0);
    say(
      `${name}: ${results.length} crashes, acknowledged ${sum('acknowledged')}, present ${sum('present')}, lost ${sum('lost')}`,
    );
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`durability experiment failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
