import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
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

export function hapiControl(command: 'start' | 'stop'): void {
  execFileSync('bash', [path.join(repoRoot, 'scripts', 'hapi.sh'), command], { env: process.env, stdio: 'inherit' });
}

/**
 * A HAPI of our build that a test starts, kills and restarts itself (its own port and data
 * directory), for crash tests that must not disturb the shared test HAPI.
 */
export class OwnHapi {
  readonly baseUrl: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(readonly port: string, readonly dataDir: string, extraEnv: Record<string, string> = {}) {
    this.baseUrl = `http://127.0.0.1:${port}/fhir`;
    this.env = { ...process.env, ...extraEnv, HAPI_PORT: port, HAPI_DATA_DIR: dataDir };
  }

  /** Starts it (building nothing new) and waits until /fhir/metadata answers. */
  start(): void {
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'hapi.sh'), 'start'], { env: this.env, stdio: 'inherit' });
  }

  /** Starts it without blocking this process (whose own servers must keep answering meanwhile). */
  async startInBackground(): Promise<void> {
    try {
      await promisify(execFile)('bash', [path.join(repoRoot, 'scripts', 'hapi.sh'), 'start'], { env: this.env });
    } catch (e) {
      const { stdout, stderr } = e as { stdout?: string; stderr?: string };
      throw new Error(`HAPI in ${this.dataDir} did not start: ${stdout ?? ''}${stderr ?? ''}`);
    }
  }

  stop(): void {
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'hapi.sh'), 'stop'], { env: this.env, stdio: 'inherit' });
  }

  /** The server's pid, from the pid file scripts/hapi.sh writes. */
  pid(): number {
    const pid = Number.parseInt(readFileSync(path.join(this.dataDir, 'hapi.pid'), 'utf8').trim(), 10);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid for the HAPI in ${this.dataDir}`);
    return pid;
  }

  /** Sends a signal to our server only (SIGKILL to crash it, SIGSTOP / SIGCONT to freeze it). */
  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid(), signal);
  }

  /** Waits until the killed process is gone, so a restart does not find the old one. */
  async waitGone(pid: number, timeoutMs = 30000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      if (Date.now() > until) throw new Error(`HAPI pid ${pid} still alive after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  store(timeoutMs = 10000): HapiStore {
    return new HapiStore({ baseUrl: this.baseUrl, timeoutMs, retryAfterSeconds: 5 });
  }
}
