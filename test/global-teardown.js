import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export default async function globalTeardown() {
  if (process.env.TEST_HAPI_EXTERNAL || process.env.KEEP_HAPI) return;
  execFileSync('bash', [path.join(root, 'scripts', 'hapi.sh'), 'stop'], { env: process.env, stdio: 'inherit' });
  // The cluster this run started goes down with it, unless a HAPI kept on purpose still uses it.
  if (process.env.TEST_PG_STARTED) {
    execFileSync('bash', [path.join(root, 'scripts', 'postgres.sh'), 'stop-if-idle'], {
      env: process.env,
      stdio: 'inherit',
    });
  }
}
