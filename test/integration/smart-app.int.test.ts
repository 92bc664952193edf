import { spawn, type ChildProcess } from 'node:child_process';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import smart from 'fhirclient';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import request from 'supertest';
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { createApp } from '../../src/api/app.js';
import { repoRoot } from '../../src/config/config.js';
import { createAuthWorld, CLIENTS, testAuth, type AuthWorld } from '../support/authWorld.js';
import { REDIRECT_URI, TEST_AUDIENCE, TestIdentity } from '../support/identity.js';
import { seedPhb, type SeededPhb } from '../support/phbRecords.js';
import { freshSpoolDir, removeSpoolDir } from '../support/spool.js';

const APP_ORIGIN = 'https://smart-app.example.org';
const OTHER_ORIGIN = 'https://elsewhere.example.net';

const scopesOf = (scope: string | undefined): string[] => (scope ?? '').split(' ').filter(Boolean).sort();

/**
 * What a SMART app (SMART's own JS client, or any other) meets: v1 and v2 scopes granted as asked
 * and honoured by the facade, the granted scope string, refresh tokens for offline_access,
 * private_key_jwt for backend services, and CORS for browser apps. Real provider, real HAPI.
 */
describe('SMART apps against the real identity provider and the facade', () => {
  let world: AuthWorld;
  let own: SeededPhb;

  beforeAll(async () => {
    world = await createAuthWorld({ corsOrigins: [APP_ORIGIN] });
    own = await seedPhb(world.store, world.own);
  });
  afterAll(async () => world.close());

  const get = (url: string, token: string): request.Test =>
    request(world.app).get(url).set('Authorization', `Bearer ${token}`);

  describe('v1 scopes', () => {
    it("grants patient/*.read as asked and reads the person's records with it", async () => {
      const tokens = await world.identity.authorizationCode(
        CLIENTS.portal,
        world.username('budget-holder'),
        'openid fhirUser launch/patient patient/*.read',
      );
      expect(decodeJwt(tokens.accessToken).scope).toBe('patient/*.read');
      expect((await get(`/fhir/Patient/${world.own}`, tokens.accessToken)).status).toBe(200);
      const plan = await get(`/fhir/CarePlan/${own.planId}`, tokens.accessToken);
      expect(plan.status).toBe(200);
      expect(plan.body).toMatchObject({ resourceType: 'CarePlan', id: own.planId });
      const search = await get(`/fhir/CarePlan?patient=${world.own}`, tokens.accessToken);
      expect(search.status).toBe(200);
      expect(search.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toContain(own.planId);
    });

    it('grants patient/CarePlan.read for plans only: the Patient is refused naming the scope it needs', async () => {
      const { accessToken, scope } = await world.identity.authorizationCode(
        CLIENTS.phrApp,
        world.username('phr-app'),
        'launch/patient patient/CarePlan.read',
      );
      expect(scopesOf(scope)).toEqual(['launch/patient', 'patient/CarePlan.read']);
      expect((await get(`/fhir/CarePlan?patient=${world.own}`, accessToken)).status).toBe(200);
      const refused = await get(`/fhir/Patient/${world.own}`, accessToken);
      expect(refused.status).toBe(403);
      expect(refused.body.issue[0]).toMatchObject({ code: 'forbidden' });
      expect(refused.headers['www-authenticate']).toMatch(/insufficient_scope", scope="patient\/Patient\.r"/);
    });

    it('grants user/*.read and user/*.write to staff; write alone does not read', async () => {
      const staff = world.username('care-coordinator');
      const both = await world.identity.authorizationCode(CLIENTS.staffApp, staff, 'openid user/*.read user/*.write');
      expect(scopesOf(both.scope)).toEqual(['openid', 'user/*.read', 'user/*.write']);
      expect((await get(`/fhir/Patient/${world.own}`, both.accessToken)).status).toBe(200);
      expect((await get(`/fhir/CarePlan/${own.planId}`, both.accessToken)).status).toBe(200);
      const writeOnly = await world.identity.authorizationCode(CLIENTS.staffApp, staff, 'user/*.write');
      expect(writeOnly.scope).toBe('user/*.write');
      expect((await get(`/fhir/Patient/${world.own}`, writeOnly.accessToken)).status).toBe(403);
    });

    it('grants system/*.read to a backend service, and no system scope to an app a person signs in to', async () => {
      const gp = await world.identity.clientCredentialsTokens(CLIENTS.gpSystem, 'system/*.read');
      expect(gp.scope).toBe('system/*.read');
      expect((await get(`/fhir/Patient/${world.own}`, gp.accessToken)).status).toBe(200);
      const app = await world.identity.authorizationCode(
        CLIENTS.portal,
        world.username('budget-holder'),
        'openid system/*.read patient/Patient.r',
      );
      expect(app.scope).toBe('openid patient/Patient.r');
      const patientInSystem = await world.identity.clientCredentialsTokens(CLIENTS.gpSystem, 'patient/*.read');
      expect(patientInSystem.scope).toBeUndefined();
    });
  });

  it('lists in the token response every scope granted: launch/patient, openid, fhirUser and the resource ones', async () => {
    const { scope, patient } = await world.identity.authorizationCode(
      CLIENTS.phrApp,
      world.username('phr-app'),
      'openid fhirUser launch/patient patient/*.rs patient/Goal.cruds',
    );
    expect(scopesOf(scope)).toEqual(['fhirUser', 'launch/patient', 'openid', 'patient/*.rs', 'patient/Goal.cruds']);
    expect(patient).toBe(world.own);
  });

  describe('refresh tokens for offline_access', () => {
    it('issues one, rotates it on use, and the refreshed access token is accepted by the facade', async () => {
      const first = await world.identity.authorizationCode(
        CLIENTS.phrApp,
        world.username('phr-app'),
        'openid fhirUser launch/patient offline_access patient/*.read',
      );
      expect(scopesOf(first.scope)).toEqual([
        'fhirUser',
        'launch/patient',
        'offline_access',
        'openid',
        'patient/*.read',
      ]);
      expect(first.refreshToken).toEqual(expect.any(String));

      const second = await world.identity.refresh(CLIENTS.phrApp, first.refreshToken ?? '');
      expect(second.accessToken).not.toBe(first.accessToken);
      expect(second.refreshToken).toEqual(expect.any(String));
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(scopesOf(second.scope)).toEqual(scopesOf(first.scope));
      expect(second.patient).toBe(world.own);
      expect(decodeJwt(second.accessToken)).toMatchObject({
        patient: world.own,
        fhirUser: `Patient/${world.own}`,
        scope: 'patient/*.read',
        client_id: CLIENTS.phrApp.clientId,
      });
      const res = await get(`/fhir/CarePlan/${own.planId}`, second.accessToken);
      expect(res.status).toBe(200);

      // A spent refresh token used again: refused, and the whole grant with it (the newer token too).
      await expect(world.identity.refresh(CLIENTS.phrApp, first.refreshToken ?? '')).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      await expect(world.identity.refresh(CLIENTS.phrApp, second.refreshToken ?? '')).rejects.toMatchObject({
        error: 'invalid_grant',
      });
    });

    it('issues none without offline_access', async () => {
      const tokens = await world.identity.authorizationCode(
        CLIENTS.phrApp,
        world.username('phr-app'),
        'openid launch/patient patient/*.rs',
      );
      expect(tokens.refreshToken).toBeUndefined();
    });
  });

  it('advertises refresh tokens and the client authentication that works, in both discovery documents', async () => {
    const provider = (await (await fetch(`${world.identity.issuer}/.well-known/openid-configuration`)).json()) as {
      grant_types_supported: string[];
    };
    expect(provider.grant_types_supported).toEqual(expect.arrayContaining(['refresh_token']));
    for (const path of ['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration']) {
      const res = await request(world.app).get(path);
      expect(res.body.grant_types_supported).toEqual(['authorization_code', 'client_credentials', 'refresh_token']);
      expect(res.body.token_endpoint_auth_methods_supported).toEqual(
        expect.arrayContaining(['none', 'client_secret_basic', 'private_key_jwt']),
      );
      expect(res.body.token_endpoint_auth_signing_alg_values_supported).toEqual(
        expect.arrayContaining(['RS384', 'ES384']),
      );
      expect(res.body.capabilities).toEqual(
        expect.arrayContaining([
          'client-public',
          'client-confidential-symmetric',
          'client-confidential-asymmetric',
          'permission-v1',
          'permission-v2',
        ]),
      );
      expect(res.body.scopes_supported).toEqual(expect.arrayContaining(['offline_access', 'patient/*.read']));
    }
    const metadata = await request(world.app).get('/fhir/metadata');
    expect(metadata.body.rest[0].security.cors).toBe(true);
  });

  describe('CORS', () => {
    const preflight = (path: string, origin: string, method = 'GET'): request.Test =>
      request(world.app)
        .options(path)
        .set('Origin', origin)
        .set('Access-Control-Request-Method', method)
        .set('Access-Control-Request-Headers', 'authorization, content-type, if-match');

    it('answers a preflight from an allowed origin with what the app may send', async () => {
      for (const path of [`/fhir/Goal/${own.goalIds[0]}`, '/fhir']) {
        const res = await preflight(path, APP_ORIGIN, 'PUT');
        expect(res.status).toBe(204);
        expect(res.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
        expect(res.headers['access-control-allow-methods']?.split(', ')).toEqual(
          expect.arrayContaining(['GET', 'POST', 'PUT']),
        );
        expect(res.headers['access-control-allow-headers']).toBe(
          'Authorization, Content-Type, If-Match, Idempotency-Key, Prefer',
        );
        expect(res.headers.vary).toMatch(/Origin/);
        expect(res.headers['access-control-allow-credentials']).toBeUndefined();
        // The security headers stay.
        expect(res.headers['x-content-type-options']).toBe('nosniff');
      }
      const discovery = await preflight('/.well-known/smart-configuration', APP_ORIGIN);
      expect(discovery.status).toBe(204);
      expect(discovery.headers['access-control-allow-methods']).toBe('GET');
    });

    it('lets an allowed origin read answers and their headers, success and refusal alike', async () => {
      const { accessToken } = await world.identity.authorizationCode(
        CLIENTS.phrApp,
        world.username('phr-app'),
        'launch/patient patient/*.rs',
      );
      const res = await get(`/fhir/CarePlan/${own.planId}`, accessToken).set('Origin', APP_ORIGIN);
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
      expect(res.headers['access-control-expose-headers']).toBe(
        'ETag, Location, Retry-After, X-Request-Id, WWW-Authenticate',
      );
      expect(res.headers.vary).toMatch(/Origin/);
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
      const refused = await request(world.app).get(`/fhir/Patient/${world.own}`).set('Origin', APP_ORIGIN);
      expect(refused.status).toBe(401);
      expect(refused.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
      for (const path of ['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration']) {
        const discovery = await request(world.app).get(path).set('Origin', APP_ORIGIN);
        expect(discovery.status).toBe(200);
        expect(discovery.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
      }
    });

    it('gives another origin no CORS headers and refuses its preflight', async () => {
      const res = await preflight(`/fhir/Patient/${world.own}`, OTHER_ORIGIN);
      expect(res.status).toBe(403);
      expect(res.body.issue[0]).toMatchObject({ code: 'forbidden' });
      expect(res.body.issue[0].diagnostics).toMatch(/Origin https:\/\/elsewhere.example.net is not allowed/);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-methods']).toBeUndefined();
      const discovery = await preflight('/.well-known/smart-configuration', OTHER_ORIGIN);
      expect(discovery.status).toBe(403);
      expect(discovery.headers['content-type']).toMatch(/^application\/problem\+json/);
      const read = await request(world.app).get('/.well-known/smart-configuration').set('Origin', OTHER_ORIGIN);
      expect(read.status).toBe(200);
      expect(read.headers['access-control-allow-origin']).toBeUndefined();
      expect(read.headers.vary).toMatch(/Origin/);
    });

    it('keeps the staff API and the probes closed to browsers on any origin', async () => {
      const api = await preflight('/api/v1/openapi.json', APP_ORIGIN);
      expect(api.headers['access-control-allow-origin']).toBeUndefined();
      const health = await request(world.app).get('/health').set('Origin', APP_ORIGIN);
      expect(health.headers['access-control-allow-origin']).toBeUndefined();
    });

    it("lets an allowed origin use the provider's token endpoint, and no other origin", async () => {
      const token = `${world.identity.issuer}/token`;
      const ask = (origin: string): Promise<Response> =>
        fetch(token, {
          method: 'POST',
          headers: {
            origin,
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${CLIENTS.gpSystem.clientId}:${CLIENTS.gpSystem.secret}`).toString('base64')}`,
          },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.rs' }).toString(),
        });
      const allowed = await ask(APP_ORIGIN);
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
      const other = await ask(OTHER_ORIGIN);
      expect(other.status).toBe(400);
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      expect(((await other.json()) as { error: string }).error).toBe('invalid_request');
      const discovery = await fetch(`${world.identity.issuer}/.well-known/openid-configuration`, {
        headers: { origin: APP_ORIGIN },
      });
      expect(discovery.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    });
  });

  /**
   * oidc-provider checks a registered JWKS with `constructor === Object` on a structuredClone of the
   * client, which fails inside jest's VM context (the clone belongs to the outer realm); so this
   * provider runs from dist/ in a process of its own, as `npm start` runs it (`npm run build` first).
   */
  describe('private_key_jwt for backend services (provider in its own process)', () => {
    const clientId = 'test-backend-service';
    let child: ChildProcess | undefined;
    let provider: TestIdentity | undefined;
    let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

    beforeAll(async () => {
      const keys = await generateKeyPair('ES384');
      privateKey = keys.privateKey;
      const options = {
        audience: TEST_AUDIENCE,
        clients: [
          {
            client_id: clientId,
            token_endpoint_auth_method: 'private_key_jwt',
            token_endpoint_auth_signing_alg: 'ES384',
            jwks: { keys: [{ ...(await exportJWK(keys.publicKey)), alg: 'ES384', use: 'sig' }] },
            redirect_uris: [],
            grant_types: ['client_credentials'],
            response_types: [],
          },
        ],
        clientClaims: { [clientId]: { phb_role: 'gp-system', phb_org: world.gpOds } },
      };
      const dist = (file: string): string =>
        pathToFileURL(path.join(repoRoot, 'dist', 'src', 'devIdentity', file)).href;
      const script = [
        `import { startIdentityProvider } from '${dist('provider.js')}';`,
        `import { newSigningKey } from '${dist('keys.js')}';`,
        'const options = JSON.parse(process.env.PROVIDER_OPTIONS);',
        "const running = await startIdentityProvider({ ...options, host: '127.0.0.1', port: 0, users: [], keys: [await newSigningKey()] });",
        "process.stdout.write(running.issuer + '\\n');",
        "process.on('SIGTERM', () => running.close().then(() => process.exit(0)));",
      ].join('\n');
      const started = spawn(process.execPath, ['--input-type=module', '-e', script], {
        env: { PATH: process.env.PATH ?? '', PROVIDER_OPTIONS: JSON.stringify(options) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      child = started;
      const issuer = await new Promise<string>((resolve, reject) => {
        started.stdout?.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
        started.once('exit', (code) => reject(new Error(`the provider process ended (${String(code)})`)));
      });
      provider = new TestIdentity([], [], {});
      provider.useRunning(issuer);
    });
    afterAll(() => {
      child?.kill('SIGTERM');
    });

    it('authenticates the client by an ES384 assertion, and the facade accepts its token', async () => {
      const identity = provider as TestIdentity;
      const { accessToken, scope } = await identity.clientCredentialsTokens(
        { clientId, privateKey },
        'system/Patient.r',
      );
      expect(scope).toBe('system/Patient.r');
      expect(decodeJwt(accessToken)).toMatchObject({
        client_id: clientId,
        phb_role: 'gp-system',
        iss: identity.issuer,
      });
      const spoolDir = freshSpoolDir();
      const auth = testAuth(world.store, identity.issuer, { auditSpoolDir: spoolDir });
      try {
        const app = createApp({
          store: world.store,
          readiness: { conformanceLoaded: true },
          retryAfterSeconds: 5,
          auth,
        });
        const res = await request(app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${accessToken}`);
        expect(res.status).toBe(200);
        const discovery = await request(app).get('/.well-known/smart-configuration');
        expect(discovery.body.capabilities).toContain('client-confidential-asymmetric');
      } finally {
        await auth.audit.close();
        removeSpoolDir(spoolDir);
      }
      // Without a valid assertion there is no token.
      const stranger = await generateKeyPair('ES384');
      await expect(
        identity.clientCredentialsTokens({ clientId, privateKey: stranger.privateKey }, 'system/Patient.r'),
      ).rejects.toMatchObject({ error: 'invalid_client' });
    });
  });

  /**
   * SMART's own JS client (fhirclient, its Node adapter) doing a standalone launch with PKCE
   * against the facade on a real port: discovery, the provider's login and consent pages, the code
   * exchange, FHIR reads, and a refresh. The app's two pages (launch and callback) are requests
   * handed to it as a web server would; the sign-in in between is the provider's own pages.
   */
  describe("SMART's fhirclient, standalone launch", () => {
    let server: Server;
    let fhirBase: string;

    beforeAll(async () => {
      server = world.app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      fhirBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
    });
    afterAll(async () => new Promise((resolve) => server.close(resolve)));

    /** The app's session, as a server keeps it between its launch and callback pages. */
    const session = new Map<string, unknown>();
    const storage = {
      get: async (key: string): Promise<unknown> => session.get(key),
      set: async (key: string, value: unknown): Promise<unknown> => session.set(key, value) && value,
      unset: async (key: string): Promise<boolean> => session.delete(key),
    };
    const appRequest = (url: URL): IncomingMessage =>
      ({ url: `${url.pathname}${url.search}`, headers: { host: url.host }, socket: {} }) as unknown as IncomingMessage;
    const noResponse = {} as ServerResponse;

    it('launches, signs in with PKCE, reads the patient and plans with v1 scopes, and refreshes', async () => {
      const launch = smart(appRequest(new URL('/launch', REDIRECT_URI)), noResponse, storage);
      const authorizeUrl = (await launch.authorize({
        iss: fhirBase,
        clientId: CLIENTS.phrApp.clientId,
        scope: 'openid fhirUser launch/patient offline_access patient/*.read',
        redirectUri: REDIRECT_URI,
        pkceMode: 'required',
        noRedirect: true,
      })) as unknown as string;
      const start = new URL(authorizeUrl);
      expect(start.origin).toBe(world.identity.issuer);
      expect(start.searchParams.get('code_challenge_method')).toBe('S256');
      expect(start.searchParams.get('aud')).toBe(fhirBase);

      const callback = await world.identity.signIn(start, world.username('phr-app'));
      const app = smart(appRequest(callback), noResponse, storage);
      // A public client names itself when refreshing (oidc-provider needs client_id to know whose token it is).
      app.options.refreshTokenWithClientId = true;
      const client = await app.ready();
      expect(client.getPatientId()).toBe(world.own);
      expect(client.state.tokenResponse?.scope?.split(' ').sort()).toEqual([
        'fhirUser',
        'launch/patient',
        'offline_access',
        'openid',
        'patient/*.read',
      ]);
      expect(client.getFhirUser()).toBe(`Patient/${world.own}`);

      const patient = await client.patient.read();
      expect(patient).toMatchObject({ resourceType: 'Patient', id: world.own });
      const plans = await client.request<{ entry?: { resource: { id: string } }[] }>(`CarePlan?patient=${world.own}`);
      expect(plans.entry?.map((e) => e.resource.id)).toContain(own.planId);

      const before = client.state.tokenResponse?.access_token;
      await client.refresh();
      expect(client.state.tokenResponse?.access_token).not.toBe(before);
      expect(await client.request(`CarePlan/${own.planId}`)).toMatchObject({ id: own.planId });
    });
  });
});
