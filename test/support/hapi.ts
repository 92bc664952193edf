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

export function hapiControl(command: 'start' | 'stop'): void {
  execFileSync('bash', [path.join(repoRoot, 'scripts', 'hapi.sh'), command], { env: process.env, stdio: 'inherit' });
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
  stop(): void;
}

function clusterEnv(cluster?: PostgresCluster): NodeJS.ProcessEnv {
  return cluster ? { PG_PORT: cluster.port, PG_DATA_DIR: cluster.dataDir } : {};
}

/**
 * A HAPI of its own for a test, on either store, through scripts/hapi.sh. On postgres it uses the
 * given cluster (else the run's, from PG_PORT / PG_DATA_DIR) with a database for `dataDir`, and
 * starts the cluster when it is not running.
 */
export function startHapi(options: {
  store: HapiStoreKind; port: string; dataDir: string; postgres?: PostgresCluster; env?: NodeJS.ProcessEnv;
}): StartedHapi {
  const env: NodeJS.ProcessEnv = {
    ...process.env, ...clusterEnv(options.postgres), ...options.env,
    HAPI_STORE: options.store, HAPI_PORT: options.port, HAPI_DATA_DIR: options.dataDir,
  };
  // A database URL from outside would put this HAPI on someone else's database.
  delete env.HAPI_DB_URL;
  const script = path.join(repoRoot, 'scripts', 'hapi.sh');
  execFileSync('bash', [script, 'start'], { env, stdio: 'inherit' });
  return {
    baseUrl: `http://127.0.0.1:${options.port}/fhir`,
    pid: Number(readFileSync(path.join(options.dataDir, 'hapi.pid'), 'utf8').trim()),
    stop: () => execFileSync('bash', [script, 'stop'], { env, stdio: 'inherit' }),
  };
}

/** scripts/postgres.sh on a cluster (else the run's): start, stop (fast) or stop immediate (a crash). */
export function postgresControl(command: 'start' | 'stop' | 'stop-immediate', cluster?: PostgresCluster): void {
  const args = command === 'stop-immediate' ? ['stop', 'immediate'] : [command];
  execFileSync('bash', [path.join(repoRoot, 'scripts', 'postgres.sh'), ...args], {
    env: { ...process.env, ...clusterEnv(cluster) }, stdio: 'inherit',
  });
}
