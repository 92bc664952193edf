import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../src/config/config.js';

describe('development identity provider', () => {
  it('refuses to start with NODE_ENV=production', () => {
    const run = spawnSync(process.execPath, [path.join(repoRoot, 'dist', 'src', 'devIdentity', 'main.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        OIDC_ISSUERS: 'https://idp.example',
        DEV_IDENTITY_PORT: '18085',
      },
      encoding: 'utf8',
      timeout: 30000,
    });
    expect(run.status).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/refuses to run with NODE_ENV=production/);
  });
});
