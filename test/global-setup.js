// Starts the real HAPI FHIR server once per test run (unless FHIR_BASE_URL points at one), on the
// store HAPI_STORE names: postgres (the default, production's store) or h2.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const TEST_HAPI = {
  port: process.env.TEST_HAPI_PORT ?? '8091',
  dataDir: path.join(root, 'data', 'hapi-test'),
};

/** The tests' own PostgreSQL cluster, apart from the one `npm start` uses (data/postgres). */
export const TEST_POSTGRES = {
  port: process.env.TEST_PG_PORT ?? '5434',
  dataDir: path.join(root, 'data', 'postgres-test'),
};

export default async function globalSetup() {
  if (process.env.FHIR_BASE_URL) {
    process.env.TEST_HAPI_EXTERNAL = '1';
    return;
  }
  const store = process.env.HAPI_STORE ?? 'postgres';
  // Every HAPI a test starts (destination, audit repository, restarts) inherits these, on either store.
  process.env.HAPI_STORE = store;
  process.env.PG_PORT = TEST_POSTGRES.port;
  process.env.PG_DATA_DIR = TEST_POSTGRES.dataDir;
  if (store === 'postgres' && !process.env.HAPI_DB_URL) {
    const postgres = path.join(root, 'scripts', 'postgres.sh');
    if (spawnSync('bash', [postgres, 'status'], { env: process.env, stdio: 'ignore' }).status !== 0) {
      execFileSync('bash', [postgres, 'start'], { env: process.env, stdio: 'inherit' });
      process.env.TEST_PG_STARTED = '1';
    }
  }
  const env = { ...process.env, HAPI_PORT: TEST_HAPI.port, HAPI_DATA_DIR: TEST_HAPI.dataDir };
  execFileSync('bash', [path.join(root, 'scripts', 'hapi.sh'), 'start'], { env, stdio: 'inherit' });
  process.env.FHIR_BASE_URL = `http://127.0.0.1:${TEST_HAPI.port}/fhir`;
  process.env.HAPI_PORT = TEST_HAPI.port;
  process.env.HAPI_DATA_DIR = TEST_HAPI.dataDir;
}
