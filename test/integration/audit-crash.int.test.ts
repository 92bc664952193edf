import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { AuditEvent, Bundle } from 'fhir/r4.js';
import { requestIdOf } from '../../src/audit/auditEvent.js';
import { repoRoot } from '../../src/config/config.js';
import { CLIENTS, createAuthWorld, type AuthWorld } from '../support/authWorld.js';
import { fhirBaseUrl, uniqueId } from '../support/hapi.js';
import { TEST_AUDIENCE } from '../support/identity.js';
import { seedPhb } from '../support/phbRecords.js';
import { freshSpoolDir, spooledEvents } from '../support/spool.js';

/**
 * The facade killed mid-burst loses no audit: the built service runs as a real process trusting a
 * real identity provider, ten clients send reads, refusals and writes with real tokens, the
 * process is SIGKILLed, and a new one on the same spool directory delivers what was spooled.
 * Every request that got an answer (any status) must then have its AuditEvent in HAPI.
 */

const mainJs = path.join(repoRoot, 'dist', 'src', 'main.js');
const PORT = process.env.TEST_FACADE_PORT ?? '8088';
const BASE = `http://127.0.0.1:${PORT}`;
const REQUESTS = 150;
const CLIENT_COUNT = 10;
/** Killed when this many answers have arrived, with requests of every client still under way. */
const KILL_AFTER = 90;
const IMPACT = 'https://phb.fhir.example.org/Questionnaire/phb-impact|0.1.0';

interface Facade {
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** Starts the built facade and resolves once it listens. */
function startFacade(env: Record<string, string>): Promise<Facade> {
  const child = spawn(process.execPath, [mainJs], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`facade did not start: ${output.slice(-2000)}`));
    }, 60000);
    const onData = (chunk: Buffer): void => {
      // Only the start is of interest; later lines are request logs.
      if (output.length < 100000) output += chunk.toString();
      if (/"message":"facade listening"/.test(output)) {
        clearTimeout(timer);
        resolve({ child, exited });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`facade exited (${String(code)}) during start: ${output.slice(-2000)}`));
    });
  });
}

/** The request ids of every AuditEvent HAPI holds recorded since `since` (all pages). */
async function auditedRequestIds(since: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let url: string | undefined =
    `${fhirBaseUrl()}/AuditEvent?date=ge${encodeURIComponent(since)}&_count=200&_elements=entity`;
  while (url) {
    const res = await fetch(url, {
      headers: { Accept: 'application/fhir+json', 'Cache-Control': 'no-cache' },
      signal: AbortSignal.timeout(30000),
    });
    if (!res.ok) throw new Error(`AuditEvent search answered ${res.status}`);
    const bundle = (await res.json()) as Bundle<AuditEvent>;
    for (const e of bundle.entry ?? []) {
      const id = e.resource ? requestIdOf(e.resource) : undefined;
      if (id) ids.add(id);
    }
    url = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return ids;
}

describe('facade crash (SIGKILL mid-burst): no answered request loses its AuditEvent', () => {
  let world: AuthWorld;
  const started: ChildProcess[] = [];

  beforeAll(async () => {
    world = await createAuthWorld();
    await seedPhb(world.store, world.own);
  }, 120000);
  afterAll(async () => {
    for (const child of started)
      if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    await world?.close();
  });

  it('delivers, after a restart on the same spool, the AuditEvent of every request that was answered', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const spoolDir = freshSpoolDir();
    const env = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT,
      FHIR_BASE_URL: fhirBaseUrl(),
      AUDIT_SPOOL_DIR: spoolDir,
      LOG_LEVEL: 'warn',
      OIDC_ISSUERS: world.identity.issuer,
      OIDC_AUDIENCE: TEST_AUDIENCE,
      PHR_APP_CLIENTS: CLIENTS.phrApp.clientId,
    };
    // 'facade listening' is an info line: the first start logs at info to be seen.
    const first = await startFacade({ ...env, LOG_LEVEL: 'info' });
    started.push(first.child);
    const tokens = await Promise.all([
      world.token('phr-app'),
      world.token('budget-holder'),
      world.token('care-coordinator'),
    ]);

    const requestFor = (i: number, token: string): [string, RequestInit] => {
      const headers = {
        Authorization: `Bearer ${token}`,
        'X-Request-Id': uniqueId('crash'),
        Accept: 'application/fhir+json',
      };
      switch (i % 4) {
        case 0:
          return [`/fhir/Patient/${world.own}`, { headers }];
        case 1:
          return [`/fhir/Patient/${world.other}`, { headers }];
        case 2:
          return [`/api/v1/budget-holders/${world.own}/consents`, { headers }];
        default:
          return [
            '/fhir/QuestionnaireResponse',
            {
              method: 'POST',
              headers: { ...headers, 'Content-Type': 'application/fhir+json' },
              body: JSON.stringify({
                resourceType: 'QuestionnaireResponse',
                status: 'completed',
                questionnaire: IMPACT,
                subject: { reference: `Patient/${world.own}` },
                authored: new Date().toISOString(),
                item: [
                  ['confidence', 4],
                  ['connected', 3],
                  ['progressTowardGoals', 4],
                  ['wellbeing', 3],
                ].map(([linkId, v]) => ({ linkId, answer: [{ valueInteger: v }] })),
              }),
            },
          ];
      }
    };

    const answered: { requestId: string; status: number }[] = [];
    let unanswered = 0;
    let next = 0;
    let killed = false;
    const client = async (c: number): Promise<void> => {
      const token = tokens[c % tokens.length] as string;
      while (!killed && next < REQUESTS) {
        const [url, init] = requestFor(next++, token);
        const requestId = (init.headers as Record<string, string>)['X-Request-Id'] as string;
        try {
          const res = await fetch(`${BASE}${url}`, { ...init, signal: AbortSignal.timeout(30000) });
          answered.push({ requestId, status: res.status });
          if (answered.length === KILL_AFTER && first.child.pid) {
            // At once, while the other clients' requests are under way.
            process.kill(first.child.pid, 'SIGKILL');
            killed = true;
          }
          await res.arrayBuffer().catch(() => undefined);
        } catch {
          unanswered++;
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENT_COUNT }, (_, c) => client(c)));
    await first.exited;
    expect(killed).toBe(true);
    // Reads, writes and refusals were all answered before the kill.
    const statuses = new Set(answered.map((a) => a.status));
    expect([200, 201].every((s) => statuses.has(s)) && [...statuses].some((s) => s === 403 || s === 404)).toBe(true);

    const storedAtKill = await auditedRequestIds(since);
    const missingAtKill = answered.filter((a) => !storedAtKill.has(a.requestId));
    const spooled = new Set(spooledEvents(spoolDir).map(requestIdOf));
    // Each one was in the spool when its answer left, so the spool holds it now.
    expect(missingAtKill.filter((a) => !spooled.has(a.requestId))).toEqual([]);

    const second = await startFacade({ ...env, LOG_LEVEL: 'info' });
    started.push(second.child);
    let stored = storedAtKill;
    for (const deadline = Date.now() + 60000; Date.now() < deadline;) {
      stored = await auditedRequestIds(since);
      if (answered.every((a) => stored.has(a.requestId))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (second.child.pid) process.kill(second.child.pid, 'SIGTERM');
    await second.exited;

    const lost = answered.filter((a) => !stored.has(a.requestId));
    process.stdout.write(
      `facade crash: ${answered.length} answered, ${unanswered} unanswered (cut off by the kill), ` +
        `${answered.length - missingAtKill.length} stored before the kill, ${missingAtKill.length} only in the spool, ` +
        `${answered.length - lost.length} stored after the restart, ${lost.length} lost\n`,
    );
    // The kill came while events were on their way: the restart had something to deliver.
    expect(missingAtKill.length).toBeGreaterThan(0);
    expect(lost).toEqual([]);
  }, 240000);
});
