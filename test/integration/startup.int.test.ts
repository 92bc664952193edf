import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../src/config/config.js';
import { fhirBaseUrl } from '../support/hapi.js';
import { freshSpoolDir } from '../support/spool.js';

const mainJs = path.join(repoRoot, 'dist', 'src', 'main.js');

interface Run {
  code: number | null;
  output: string;
}

/** Runs the built service as a real process and waits for it to exit (or for `until` to appear). */
function runService(env: Record<string, string>, until?: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`service did not finish: ${output}`));
    }, 60000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (until?.test(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('service start-up (built service as a real process)', () => {
  it('stops with a message naming a bad configuration value', async () => {
    const run = await runService({ PORT: 'not-a-port', FHIR_BASE_URL: fhirBaseUrl() });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/PORT=\\"not-a-port\\": must be integer/);
  });

  it('stops naming a malformed profile file before writing anything', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'phb-profiles-'));
    try {
      await writeFile(path.join(dir, 'broken.json'), '{ "resourceType": "CodeSystem", ');
      const run = await runService({ PORT: '0', FHIR_BASE_URL: fhirBaseUrl(), PROFILES_DIR: dir });
      expect(run.code).toBe(1);
      expect(run.output).toMatch(/Conformance resource broken\.json: is not valid JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops naming the sign-off policy file and the JSON pointer of its bad field', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'phb-policy-'));
    try {
      const file = path.join(dir, 'bad-policy.json');
      await writeFile(
        file,
        JSON.stringify({
          id: 'bad-policy',
          version: '1',
          organisation: { id: 'x', name: 'X' },
          tiers: [
            { upTo: 75000, signers: ['team-lead'] },
            { upTo: 25000, signers: ['care-coordinator'] },
            { signers: ['commissioner'] },
          ],
        }),
      );
      const run = await runService({ PORT: '0', FHIR_BASE_URL: fhirBaseUrl(), SIGN_OFF_POLICY: file });
      expect(run.code).toBe(1);
      expect(run.output).toContain('start-up stopped');
      expect(run.output).toContain(`Sign-off policy ${file}:`);
      expect(run.output).toMatch(/\/tiers\/1\/upTo: tiers must ascend/);
      expect(run.output).not.toContain('facade listening');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops when SIGN_OFF_POLICY names no shipped policy', async () => {
    const run = await runService({ PORT: '0', FHIR_BASE_URL: fhirBaseUrl(), SIGN_OFF_POLICY: 'atlantis' });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(
      /Sign-off policy \S*policies\/atlantis\.json:\\n {2}\(document\): cannot be read \(ENOENT\)/,
    );
  });

  it('stops naming the audit spool directory when a live process holds it', async () => {
    const dir = freshSpoolDir();
    // This test process holds it, as another facade would.
    await writeFile(path.join(dir, 'lock'), String(process.pid));
    const run = await runService({ PORT: '0', FHIR_BASE_URL: fhirBaseUrl(), AUDIT_SPOOL_DIR: dir });
    expect(run.code).toBe(1);
    expect(run.output).toContain(`The audit spool ${dir} is in use by process ${process.pid}`);
    expect(run.output).not.toContain('facade listening');
  });

  it('loads the shipped profiles and logs JSON lines', async () => {
    const run = await runService(
      { PORT: '0', FHIR_BASE_URL: fhirBaseUrl(), AUDIT_SPOOL_DIR: freshSpoolDir() },
      /conformance resources loaded/,
    );
    const lines = run.output
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { message: string; level: string });
    expect(lines.map((l) => l.message)).toEqual(
      expect.arrayContaining(['sign-off policy loaded', 'facade listening', 'conformance resources loaded']),
    );
  });
});
