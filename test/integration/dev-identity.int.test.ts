import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Server } from 'node:http';
import request from 'supertest';
import { createApp } from '../../src/api/app.js';
import type { Auth } from '../../src/api/authSetup.js';
import { DEV_IDENTITY, repoRoot } from '../../src/config/config.js';
import type { Patient } from 'fhir/r4.js';
import { DEMO_CLIENTS, DEMO_CLIENT_CLAIMS, DEMO_GP_ODS, DEMO_USERS } from '../../src/devIdentity/demo.js';
import { SYSTEMS } from '../../src/fhir/common.js';
import { ehrBundle } from '../support/ehrBundle.js';
import { freshNhsNumber, testStore, uniqueId } from '../support/hapi.js';
import { TestIdentity } from '../support/identity.js';
import { testAuth } from '../support/authWorld.js';

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

  describe("the demo clients of npm start's provider", () => {
    const identity = new TestIdentity([...DEMO_USERS], [...DEMO_CLIENTS], { ...DEMO_CLIENT_CLAIMS });
    const store = testStore();
    let auth: Auth | undefined;
    let server: Server | undefined;

    beforeAll(async () => {
      await identity.start();
      auth = testAuth(store, identity.issuer, { timeoutMs: 15000 });
      server = createApp({ store, readiness: { conformanceLoaded: true }, retryAfterSeconds: 5, auth }).listen(
        0,
        '127.0.0.1',
      );
    });
    afterAll(async () => {
      if (server) await new Promise((r) => server?.close(r));
      await auth?.audit.close();
      await identity.stop();
    });

    it('include an EHR system that sends goals in for a person new to the service', async () => {
      const token = await identity.clientCredentials(
        { clientId: DEV_IDENTITY.ehrSystemClient, secret: 'demo-ehr-system-secret' },
        'system/Bundle.c system/Goal.cu system/CarePlan.cu system/Patient.c system/EpisodeOfCare.c',
      );
      const bundle = ehrBundle(freshNhsNumber(), [{ id: uniqueId('G'), text: 'I want to get back to work.' }]);
      // A person new to the service is recorded from the EHR's details: name, birth date and GP practice.
      const person = bundle.entry?.[0]?.resource as Patient;
      person.name = [{ text: 'Sam Patel' }];
      person.birthDate = '1990-05-01';
      person.generalPractitioner = [{ identifier: { system: SYSTEMS.odsOrganisation, value: DEMO_GP_ODS } }];
      const res = await request(server as Server)
        .post('/fhir')
        .set('Authorization', `Bearer ${token}`)
        .send(bundle);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'transaction-response' });
    });
  });
});
