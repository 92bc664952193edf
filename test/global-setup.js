// Starts the real HAPI FHIR server once per test run (unless FHIR_BASE_URL points at one).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const TEST_HAPI = {
  port: process.env.TEST_HAPI_PORT ?? '8091',
  dataDir: path.join(root, 'data', 'hapi-test'),
};

export default async function globalSetup() {
  if (process.env.FHIR_BASE_URL) {
    process.env.TEST_HAPI_EXTERNAL = '1';
    return;
  }
  const env = { ...process.env, HAPI_PORT: TEST_HAPI.port, HAPI_DATA_DIR: TEST_HAPI.dataDir };
  execFileSync('bash', [path.join(root, 'scripts', 'hapi.sh'), 'start'], { env, stdio: 'inherit' });
  process.env.FHIR_BASE_URL = `http://127.0.0.1:${TEST_HAPI.port}/fhir`;
  process.env.HAPI_PORT = TEST_HAPI.port;
  process.env.HAPI_DATA_DIR = TEST_HAPI.dataDir;
}
