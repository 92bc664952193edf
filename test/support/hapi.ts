import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HapiStore } from '../../src/store/hapiStore.js';
import { repoRoot } from '../../src/config/config.js';

/** The real HAPI started by globalSetup. */
export function fhirBaseUrl(): string {
  const url = process.env.FHIR_BASE_URL;
  if (!url) throw new Error('FHIR_BASE_URL is not set: run the tests through jest globalSetup');
  return url;
}

export function testStore(timeoutMs = 15000): HapiStore {
  return new HapiStore({ baseUrl: fhirBaseUrl(), timeoutMs, retryAfterSeconds: 5 });
}

/** An id no other test run has used, so tests can share one persistent test database. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 18)}`;
}

/** A valid NHS number in the 999 test range that no earlier run has used (Modulus 11). */
export function freshNhsNumber(): string {
  for (;;) {
    const nine = `999${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
    let sum = 0;
    for (let i = 0; i < 9; i++) sum += Number(nine[i]) * (10 - i);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    return `${nine}${check === 11 ? 0 : check}`;
  }
}

/** True when this run controls the HAPI process (false when FHIR_BASE_URL was given from outside). */
export function hapiIsOurs(): boolean {
  return !process.env.TEST_HAPI_EXTERNAL;
}

/**
 * Starts or stops a HAPI of ours through scripts/hapi.sh. `env` chooses which one (HAPI_PORT, HAPI_DATA_DIR, and
 * HAPI_DB_URL for another database); by default the one globalSetup runs.
 */
export function hapiControl(command: 'start' | 'stop', env: NodeJS.ProcessEnv = process.env): void {
  execFileSync('bash', [path.join(repoRoot, 'scripts', 'hapi.sh'), command], { env, stdio: 'inherit' });
}

/**
 * Kills a HAPI of ours with SIGKILL, as a crash would (no shutdown hooks, nothing flushed), and waits until the
 * process is gone. Its pid comes from <HAPI_DATA_DIR>/hapi.pid, written by scripts/hapi.sh; returns that pid.
 */
export async function killHapi(env: NodeJS.ProcessEnv & { HAPI_DATA_DIR: string }): Promise<number> {
  const pid = Number(readFileSync(path.join(env.HAPI_DATA_DIR, 'hapi.pid'), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no HAPI pid in ${env.HAPI_DATA_DIR}/hapi.pid`);
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return pid;
    }
    if (Date.now() > deadline) throw new Error(`HAPI pid ${pid} still alive 30 s after SIGKILL`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
