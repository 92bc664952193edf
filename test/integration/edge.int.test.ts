import request, { type Response } from 'supertest';
import { createApp, type AppDeps } from '../../src/api/app.js';
import { createAuthWorld, requestIdOf, type AuthWorld } from '../support/authWorld.js';
import { uniqueId } from '../support/hapi.js';
import { spooledEvents } from '../support/spool.js';

/**
 * The edge every answer passes: security headers on both faces, errors and probes alike, and the
 * rate limits per address (before authentication) and per caller (after it), against the real
 * HAPI and a real identity provider.
 */
describe('the edge: security headers and rate limits', () => {
  let world: AuthWorld;
  let holder: string;
  let staff: string;

  beforeAll(async () => {
    world = await createAuthWorld();
    holder = await world.token('budget-holder');
    staff = await world.token('care-coordinator');
  }, 120000);
  afterAll(async () => world.close());

  const appWith = (extra: Partial<AppDeps>) =>
    createApp({
      store: world.store,
      readiness: { conformanceLoaded: true },
      retryAfterSeconds: 5,
      auth: world.auth,
      ...extra,
    });

  function expectHardened(res: Response): void {
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-powered-by']).toBeUndefined();
    // Left to the CORS allow-list for browser SMART apps.
    expect(res.headers['cross-origin-resource-policy']).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  }

  describe('security headers', () => {
    it('are on every answer: probes, discovery, both faces, their errors and 404s', async () => {
      const app = appWith({});
      const bearer = `Bearer ${holder}`;
      const answers: [string, number, string?][] = [
        ['/health', 200],
        ['/ready', 200],
        ['/.well-known/smart-configuration', 200],
        ['/fhir/metadata', 200],
        ['/api/v1/openapi.json', 200],
        [`/fhir/Patient/${world.own}`, 200, bearer],
        [`/api/v1/budget-holders/${world.own}/consents`, 200, bearer],
        [`/fhir/Patient/${world.own}`, 401],
        [`/api/v1/budget-holders/${world.own}/consents`, 401],
        [`/fhir/Patient/${world.other}`, 403, bearer],
        ['/fhir/Medication/1', 404],
        ['/api/v1/nothing-here', 404],
        ['/nothing-here', 404],
      ];
      for (const [url, status, authorization] of answers) {
        const req = request(app).get(url);
        const res = await (authorization ? req.set('Authorization', authorization) : req);
        expect({ url, status: res.status }).toEqual({ url, status });
        expectHardened(res);
        expect(res.headers['strict-transport-security']).toBeUndefined();
      }
    });

    it('keep answers with personal data out of caches, and leave discovery cacheable', async () => {
      const app = appWith({});
      const fhir = await request(app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${holder}`);
      expect(fhir.status).toBe(200);
      expect(fhir.headers['cache-control']).toBe('no-store');
      const api = await request(app)
        .get(`/api/v1/budget-holders/${world.own}/consents`)
        .set('Authorization', `Bearer ${staff}`);
      expect(api.status).toBe(200);
      expect(api.headers['cache-control']).toBe('no-store');
      const smart = await request(app).get('/.well-known/smart-configuration');
      expect(smart.headers['cache-control']).toBe('public, max-age=300');
    });

    it('include Strict-Transport-Security only when the facade is told it is reached over TLS', async () => {
      const app = appWith({ hstsMaxAgeSeconds: 31536000 });
      for (const url of ['/health', '/fhir/Medication/1', '/api/v1/nothing-here']) {
        const res = await request(app).get(url);
        expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
        expectHardened(res);
      }
    });
  });

  describe('rate limit per caller', () => {
    it("refuses a caller over its allowance on both faces, in each face's format, while another caller gets through", async () => {
      const app = appWith({ rateLimits: { windowMs: 60000, perAddress: 0, perCaller: 2 } });
      for (let i = 0; i < 2; i++) {
        const ok = await request(app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${holder}`);
        expect(ok.status).toBe(200);
      }

      const sent = uniqueId('throttled');
      const fhir = await request(app)
        .get(`/fhir/Patient/${world.own}`)
        .set('Authorization', `Bearer ${holder}`)
        .set('X-Request-Id', sent);
      expect(fhir.status).toBe(429);
      // Refused after authentication, so audited like any refusal, with its reason.
      const audited = spooledEvents(world.spoolDir).filter((e) => requestIdOf(e) === sent);
      expect(audited).toHaveLength(1);
      expect(audited[0]).toMatchObject({ outcome: '4', outcomeDesc: expect.stringMatching(/^Too many requests/) });
      expect(fhir.headers['content-type']).toMatch(/^application\/fhir\+json/);
      // One request back every 60 s / 2.
      expect(Number(fhir.headers['retry-after'])).toBeGreaterThanOrEqual(29);
      expect(Number(fhir.headers['retry-after'])).toBeLessThanOrEqual(30);
      expect(fhir.body).toMatchObject({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'throttled' }],
      });
      expect(fhir.body.issue[0].diagnostics).toMatch(/^Too many requests from this caller: try again in \d+ s$/);
      expect(JSON.stringify(fhir.body)).not.toContain(world.own);
      expectHardened(fhir);

      // The allowance is the caller's, whichever face it spends it on.
      const api = await request(app)
        .get(`/api/v1/budget-holders/${world.own}/consents`)
        .set('Authorization', `Bearer ${holder}`);
      expect(api.status).toBe(429);
      expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Number(api.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(api.body).toMatchObject({
        type: 'urn:phb-facade:problem:throttled',
        title: 'throttled',
        status: 429,
        errors: [{ code: 'throttled' }],
      });
      expect(api.body.requestId).toBe(api.headers['x-request-id']);

      // Someone else, from the same address, is not held up.
      const other = await request(app)
        .get(`/api/v1/budget-holders/${world.own}/consents`)
        .set('Authorization', `Bearer ${staff}`);
      expect(other.status).toBe(200);
      const otherFhir = await request(app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${staff}`);
      expect(otherFhir.status).toBe(200);
    });

    it('admits the caller again once Retry-After has passed', async () => {
      const app = appWith({ rateLimits: { windowMs: 3000, perAddress: 0, perCaller: 1 } });
      const get = () => request(app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${holder}`);
      expect((await get()).status).toBe(200);
      const refused = await get();
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(3);
      await new Promise((r) => setTimeout(r, retryAfter * 1000));
      expect((await get()).status).toBe(200);
    });
  });

  describe('rate limit per address', () => {
    it('refuses an address over its allowance before any token is read, on both faces, but never the probes', async () => {
      const app = appWith({ rateLimits: { windowMs: 60000, perAddress: 3, perCaller: 0 } });
      expect((await request(app).get('/fhir/metadata')).status).toBe(200);
      expect((await request(app).get(`/fhir/Patient/${world.own}`)).status).toBe(401);
      expect((await request(app).get(`/fhir/Patient/${world.own}`).set('Authorization', 'Bearer forged')).status).toBe(
        401,
      );

      const fhir = await request(app).get(`/fhir/Patient/${world.own}`);
      expect(fhir.status).toBe(429);
      expect(fhir.headers['content-type']).toMatch(/^application\/fhir\+json/);
      // One request back every 60 s / 3.
      expect(Number(fhir.headers['retry-after'])).toBeGreaterThanOrEqual(19);
      expect(Number(fhir.headers['retry-after'])).toBeLessThanOrEqual(20);
      expect(fhir.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'throttled' }] });
      expect(fhir.body.issue[0].diagnostics).toMatch(/^Too many requests from this address: try again in \d+ s$/);
      expectHardened(fhir);

      // A valid token does not help: the address is counted before authentication.
      const api = await request(app)
        .get(`/api/v1/budget-holders/${world.own}/consents`)
        .set('Authorization', `Bearer ${staff}`);
      expect(api.status).toBe(429);
      expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(api.body).toMatchObject({
        status: 429,
        title: 'throttled',
        instance: `/api/v1/budget-holders/${world.own}/consents`,
      });

      const discovery = await request(app).get('/.well-known/smart-configuration');
      expect(discovery.status).toBe(429);
      expect(discovery.headers['content-type']).toMatch(/^application\/problem\+json/);

      // X-Forwarded-For is not believed unless a proxy is trusted.
      const spoofed = await request(app).get('/fhir/metadata').set('X-Forwarded-For', '203.0.113.9');
      expect(spoofed.status).toBe(429);

      expect((await request(app).get('/health')).status).toBe(200);
      expect((await request(app).get('/ready')).status).toBe(200);
    });

    it("counts the client's address from X-Forwarded-For when the sending proxy is trusted", async () => {
      const app = appWith({ trustProxy: ['loopback'], rateLimits: { windowMs: 60000, perAddress: 1, perCaller: 0 } });
      const from = (address: string) => request(app).get('/fhir/metadata').set('X-Forwarded-For', address);
      expect((await from('203.0.113.1')).status).toBe(200);
      expect((await from('203.0.113.1')).status).toBe(429);
      expect((await from('203.0.113.2')).status).toBe(200);
    });
  });

  it('keeps the security headers on an answer the audit barrier withholds', async () => {
    const app = appWith({});
    // A spool that takes no more appends (as one on a full disk does not); the last test of the file.
    await world.auth.audit.close();
    const res = await request(app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${holder}`);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
    expectHardened(res);
  });
});
