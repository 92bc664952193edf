import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export default async function globalTeardown() {
  if (process.env.TEST_HAPI_EXTERNAL || process.env.KEEP_HAPI) return;
  execFileSync('bash', [path.join(root, 'scripts', 'hapi.sh'), 'stop'], { env: process.env, stdio: 'inherit' });
}
