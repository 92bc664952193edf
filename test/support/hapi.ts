import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
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

/** True when this run controls the HAPI process (false when FHIR_BASE_URL was given from outside). */
export function hapiIsOurs(): boolean {
  return !process.env.TEST_HAPI_EXTERNAL;
}

export function hapiControl(command: 'start' | 'stop'): void {
  execFileSync('bash', [path.join(repoRoot, 'scripts', 'hapi.sh'), command], { env: process.env, stdio: 'inherit' });
}
