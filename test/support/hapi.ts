import { spawn } from 'node:child_process';
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
    const number = `${nine}${check === 11 ? 0 : check}`;
    // The test range holds under a million numbers: never hand out one twice in a run.
    if (issuedNhsNumbers.has(number)) continue;
    issuedNhsNumbers.add(number);
    return number;
  }
}

const issuedNhsNumbers = new Set<string>();

/** True when this run controls the HAPI process (false when FHIR_BASE_URL was given from outside). */
export function hapiIsOurs(): boolean {
  return !process.env.TEST_HAPI_EXTERNAL;
}

/**
 * Runs one of scripts/ without blocking the event loop. A HAPI boot can outlast HAPI's keep-alive
 * timeout (60 s): the sockets a server closes meanwhile must be seen closed, or the next request
 * goes out on a dead one.
 */
export function runScript(
  script: 'hapi.sh' | 'postgres.sh',
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(repoRoot, 'scripts', script), ...args], { env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`scripts/${script} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

/**
 * Starts or stops a HAPI of ours through scripts/hapi.sh. `env` chooses which one (HAPI_PORT,
 * HAPI_DATA_DIR, HAPI_STORE); by default the one globalSetup runs.
 */
export function hapiControl(command: 'start' | 'stop', env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return runScript('hapi.sh', [command], env);
}

/** The pid of the HAPI running on `dataDir`, from the pid file scripts/hapi.sh writes. */
export function hapiPid(dataDir: string): number {
  const pid = Number(readFileSync(path.join(dataDir, 'hapi.pid'), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no HAPI pid in ${dataDir}/hapi.pid`);
  return pid;
}

/**
 * Kills a HAPI of ours with SIGKILL, as a crash would (no shutdown hooks, nothing flushed), and
 * waits until the process is gone. Its pid comes from <HAPI_DATA_DIR>/hapi.pid, written by
 * scripts/hapi.sh; returns that pid.
 */
export async function killHapi(env: NodeJS.ProcessEnv & { HAPI_DATA_DIR: string }): Promise<number> {
  const pid = hapiPid(env.HAPI_DATA_DIR);
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

export type HapiStoreKind = 'h2' | 'postgres';

/** The store the run's HAPI uses (globalSetup sets HAPI_STORE; postgres unless told otherwise). */
export function runStore(): HapiStoreKind {
  return process.env.HAPI_STORE === 'h2' ? 'h2' : 'postgres';
}

/** A PostgreSQL cluster of scripts/postgres.sh: its port and PG_DATA_DIR. */
export interface PostgresCluster {
  port: string;
  dataDir: string;
}

export interface StartedHapi {
  baseUrl: string;
  pid: number;
  /** Stops this HAPI, and the cluster too when this HAPI started it and nothing else uses it. */
  stop(): Promise<void>;
}

function clusterEnv(cluster?: PostgresCluster): NodeJS.ProcessEnv {
  return cluster ? { PG_PORT: cluster.port, PG_DATA_DIR: cluster.dataDir } : {};
}

/**
 * A HAPI of its own for a test, on either store, through scripts/hapi.sh. On postgres it uses the
 * given cluster (else the run's, from PG_PORT / PG_DATA_DIR) with a database for `dataDir`, and
 * starts the cluster when it is not running.
 */
export async function startHapi(options: {
  store: HapiStoreKind;
  port: string;
  dataDir: string;
  postgres?: PostgresCluster;
  env?: NodeJS.ProcessEnv;
}): Promise<StartedHapi> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...clusterEnv(options.postgres),
    ...options.env,
    HAPI_STORE: options.store,
    HAPI_PORT: options.port,
    HAPI_DATA_DIR: options.dataDir,
  };
  // A database URL from outside would put this HAPI on someone else's database.
  delete env.HAPI_DB_URL;
  await runScript('hapi.sh', ['start'], env);
  return {
    baseUrl: `http://127.0.0.1:${options.port}/fhir`,
    pid: hapiPid(options.dataDir),
    stop: () => runScript('hapi.sh', ['stop'], env),
  };
}

/** scripts/postgres.sh on a cluster (else the run's): start, stop (fast) or stop immediate (a crash). */
export function postgresControl(
  command: 'start' | 'stop' | 'stop-immediate',
  cluster?: PostgresCluster,
): Promise<void> {
  const args = command === 'stop-immediate' ? ['stop', 'immediate'] : [command];
  return runScript('postgres.sh', args, { ...process.env, ...clusterEnv(cluster) });
}

/**
 * A HAPI a crash test starts, kills, freezes and restarts itself (its own port and data
 * directory, on either store), so the run's shared HAPI is never disturbed.
 */
export class OwnHapi {
  readonly baseUrl: string;
  private started: StartedHapi | undefined;

  constructor(
    private readonly options: { store: HapiStoreKind; port: string; dataDir: string; postgres?: PostgresCluster },
  ) {
    this.baseUrl = `http://127.0.0.1:${options.port}/fhir`;
  }

  /** Starts it (or finds it running) and waits until /fhir/metadata answers, without blocking this process. */
  async start(): Promise<void> {
    this.started = await startHapi(this.options);
  }

  async stop(): Promise<void> {
    await this.started?.stop();
  }

  /** Freezes or thaws our server only (SIGSTOP / SIGCONT). */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    process.kill(hapiPid(this.options.dataDir), signal);
  }

  /** Crashes it (SIGKILL) and waits until the process is gone, so a restart does not find the old one. */
  async kill(): Promise<void> {
    await killHapi({ HAPI_DATA_DIR: this.options.dataDir });
  }

  store(timeoutMs = 10000): HapiStore {
    return new HapiStore({ baseUrl: this.baseUrl, timeoutMs, retryAfterSeconds: 5 });
  }
}
