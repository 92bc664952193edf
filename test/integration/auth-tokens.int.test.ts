import { PROTECTED_ROUTES } from '../../src/api/protectedRoutes.js';
import request from 'supertest';
import type { AuditEvent } from 'fhir/r4.js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { newSigningKey } from '../../src/devIdentity/keys.js';
import { auditEventsFor, createAuthWorld, CLIENTS, type AuthWorld } from '../support/authWorld.js';
import { TEST_AUDIENCE } from '../support/identity.js';

/** Token verification against a real OpenID Connect provider with real signed tokens. */
describe('bearer tokens from a real OpenID Connect provider', () => {
  let world: AuthWorld;
  let holderToken: string;

  beforeAll(async () => {
    world = await createAuthWorld();
    holderToken = await world.token('budget-holder');
  });
  afterAll(async () => world.close());

  const patientUrl = (): string => `/fhir/Patient/${world.own}`;

  it('accepts a token from authorization code with PKCE, carrying fhirUser and the patient in context', async () => {
    const claims = decodeJwt(holderToken);
    expect(claims).toMatchObject({
      iss: world.identity.issuer,
      aud: TEST_AUDIENCE,
      fhirUser: `Patient/${world.own}`,
      patient: world.own,
      client_id: CLIENTS.portal.clientId,
    });
    expect(decodeProtectedHeader(holderToken).alg).toBe('RS256');
    const res = await request(world.app).get(patientUrl()).set('Authorization', `Bearer ${holderToken}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'Patient', id: world.own });
  });

  it('returns the patient in context in the token response, as SMART apps expect', async () => {
    const { patient } = await world.identity.authorizationCode(
      CLIENTS.phrApp,
      world.username('phr-app'),
      'openid fhirUser launch/patient patient/*.rs',
    );
    expect(patient).toBe(world.own);
  });

  it('accepts a client-credentials token for a GP system', async () => {
    const token = await world.token('gp-system');
    expect(decodeJwt(token)).toMatchObject({
      client_id: CLIENTS.gpSystem.clientId,
      phb_role: 'gp-system',
      phb_org: world.gpOds,
      aud: TEST_AUDIENCE,
    });
    const res = await request(world.app).get(patientUrl()).set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
  });

  async function refused(token: string | undefined, reason: RegExp): Promise<void> {
    const req = request(world.app).get(patientUrl());
    const res = await (token === undefined ? req : req.set('Authorization', `Bearer ${token}`));
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.body.issue[0]).toMatchObject({ code: 'login' });
    expect(res.body.issue[0].diagnostics).toMatch(reason);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="phb-facade"/);
    if (token !== undefined)
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token", error_description="[^"]+"/);
    expect(JSON.stringify(res.body)).not.toContain(token ?? 'no-token');
  }

  const now = (): number => Math.floor(Date.now() / 1000);
  const userClaims = (): Record<string, string> => ({
    fhirUser: `Patient/${world.own}`,
    patient: world.own,
    client_id: CLIENTS.portal.clientId,
    scope: 'patient/*.rs',
  });

  it('refuses a missing token', async () => {
    await refused(undefined, /No access token/);
    const res = await request(world.app).get(patientUrl());
    expect(res.headers['www-authenticate']).toBe('Bearer realm="phb-facade"');
  });

  it('answers 401 on /api as problem+json with the same challenge', async () => {
    const res = await request(world.app).get(`/api/v1/budget-holders/${world.own}/consents`);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="phb-facade"');
    expect(res.body).toMatchObject({ status: 401, title: 'login' });
  });

  it('refuses a non-Bearer Authorization header', async () => {
    const res = await request(world.app).get(patientUrl()).set('Authorization', 'Basic dXNlcjpwYXNz');
    expect(res.status).toBe(401);
    expect(res.body.issue[0].diagnostics).toMatch(/not a Bearer token/);
  });

  it('refuses an expired token (signed with the provider key)', async () => {
    await refused(
      await world.identity.sign(world.identity.claims({ ...userClaims(), iat: now() - 1200, exp: now() - 600 })),
      /expired/,
    );
  });

  it('refuses a token that is not yet valid', async () => {
    await refused(
      await world.identity.sign(world.identity.claims({ ...userClaims(), nbf: now() + 600 })),
      /not yet valid/,
    );
  });

  it('refuses a token for another audience', async () => {
    await refused(
      await world.identity.sign(world.identity.claims({ ...userClaims(), aud: 'https://another-service.example' })),
      /another audience/,
    );
  });

  it('refuses a token from an untrusted issuer', async () => {
    await refused(
      await world.identity.sign(world.identity.claims({ ...userClaims(), iss: 'http://127.0.0.1:1/evil' })),
      /untrusted issuer/,
    );
  });

  it('refuses a token whose payload was edited (bad signature)', async () => {
    const [header, , signature] = holderToken.split('.');
    const edited = Buffer.from(
      JSON.stringify({ ...decodeJwt(holderToken), patient: world.other, fhirUser: `Patient/${world.other}` }),
    ).toString('base64url');
    await refused(`${header}.${edited}.${signature}`, /signature does not verify/);
  });

  it('refuses a token signed by a key the provider does not publish under the same kid', async () => {
    const ownKey = await newSigningKey();
    await refused(
      await world.identity.sign(world.identity.claims(userClaims()), { key: ownKey, kid: world.identity.keys[0]?.kid }),
      /signature does not verify/,
    );
  });

  it('refuses alg none', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(world.identity.claims(userClaims()))).toString('base64url');
    await refused(`${header}.${payload}.`, /algorithm none is not allowed/);
  });

  it('refuses HS256 (an HMAC keyed with anything, such as the public key)', async () => {
    const { SignJWT } = await import('jose');
    const token = await new SignJWT(world.identity.claims(userClaims()))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('k'.repeat(32)));
    await refused(token, /algorithm HS256 is not allowed/);
  });

  it('refuses an unknown key id', async () => {
    const stranger = await newSigningKey();
    await refused(
      await world.identity.sign(world.identity.claims(userClaims()), { key: stranger }),
      /key id \(kid\) is unknown/,
    );
  });

  it('refuses a garbage token', async () => {
    await refused('not.a.jwt', /not a JWT|malformed/);
  });

  it('audits refused tokens against the patient asked for', async () => {
    const sent = `unauth-${Date.now()}`;
    const res = await request(world.app).get(patientUrl()).set('X-Request-Id', sent);
    expect(res.status).toBe(401);
    expect(res.headers['x-request-id']).toBe(sent);
    await world.auth.audit.flush();
    const events = await auditEventsFor(world.store, world.own);
    const event = events.find((e) => e.entity?.some((x) => x.what?.identifier?.value === sent));
    expect(event).toMatchObject({ outcome: '4', action: 'R', agent: [{ who: { display: 'unauthenticated caller' } }] });
    expect(event?.outcomeDesc).toMatch(/No access token/);
  });

  it('still audits a request about a patient id HAPI does not hold (as a logical reference)', async () => {
    const missing = `no-such-${Date.now()}`;
    const id = await world.auth.audit.record({
      resource: 'Patient',
      resourceId: missing,
      interaction: 'read',
      patientId: missing,
      outcome: 'denied',
      reason: 'test',
      requestId: 'probe-123456',
      time: new Date().toISOString(),
    }).stored;
    expect(id).toBeDefined();
    const stored = await world.store.read<AuditEvent>('AuditEvent', id ?? '');
    expect(stored.entity?.[1]?.what).toEqual({
      type: 'Patient',
      identifier: { system: 'https://phb.fhir.example.org/Id/unresolved-reference', value: missing },
    });
  });

  it('follows key rotation at the provider without restarting the facade', async () => {
    const before = await world.token('budget-holder');
    expect((await request(world.app).get(patientUrl()).set('Authorization', `Bearer ${before}`)).status).toBe(200);
    const oldKid = world.identity.keys[0]?.kid;
    await world.identity.rotateKeys();
    await new Promise((r) => setTimeout(r, 600)); // the JWKS refetch cooldown configured for this facade
    const after = await world.token('budget-holder');
    expect(decodeProtectedHeader(after).kid).not.toBe(oldKid);
    const res = await request(world.app).get(patientUrl()).set('Authorization', `Bearer ${after}`);
    expect(res.status).toBe(200);
    // The old key is still published, so tokens signed before the rotation keep working until they expire.
    expect((await request(world.app).get(patientUrl()).set('Authorization', `Bearer ${before}`)).status).toBe(200);
  });

  it('publishes SMART discovery from the real provider', async () => {
    for (const path of ['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration']) {
      const res = await request(world.app).get(path);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        issuer: world.identity.issuer,
        authorization_endpoint: `${world.identity.issuer}/auth`,
        token_endpoint: `${world.identity.issuer}/token`,
        code_challenge_methods_supported: ['S256'],
        grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
      });
      expect(res.body.capabilities).toEqual(
        expect.arrayContaining(['launch-standalone', 'client-public', 'context-standalone-patient', 'permission-v2']),
      );
      expect(res.body.scopes_supported).toEqual(
        expect.arrayContaining([
          'openid',
          'fhirUser',
          'launch/patient',
          'patient/*.rs',
          'patient/Patient.r',
          'user/Consent.crus',
          'system/Patient.r',
        ]),
      );
    }
  });

  it('states the security section and exactly the served interactions in /fhir/metadata', async () => {
    const res = await request(world.app).get('/fhir/metadata');
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('CapabilityStatement');
    const rest = res.body.rest[0];
    expect(rest.security.service[0].coding[0].code).toBe('SMART-on-FHIR');
    const uris = Object.fromEntries(
      rest.security.extension[0].extension.map((e: { url: string; valueUri: string }) => [e.url, e.valueUri]),
    );
    expect(uris).toEqual({ authorize: `${world.identity.issuer}/auth`, token: `${world.identity.issuer}/token` });
    // Exactly the types the route table serves on /fhir, each with what its rows serve.
    const served = new Set(
      PROTECTED_ROUTES.filter((r) => r.face === 'fhir').map((r) => r.operation?.type ?? r.resource),
    );
    expect(rest.resource.map((r: { type: string }) => r.type)).toEqual([...served].sort());
    expect(rest.resource).toEqual(
      expect.arrayContaining([
        // Searched through the same allow-list as every type (its result parameters too), never read by id.
        {
          type: 'Consent',
          interaction: [{ code: 'search-type' }],
          searchParam: [
            { name: 'patient', type: 'reference' },
            { name: '_id', type: 'token' },
            { name: '_lastUpdated', type: 'date' },
            expect.objectContaining({ name: '_count', type: 'number' }),
            expect.objectContaining({ name: '_offset', type: 'number' }),
            {
              name: '_sort',
              type: 'string',
              documentation:
                'Comma-separated sort keys, each optionally prefixed with - for descending: _id, _lastUpdated',
            },
          ],
        },
        expect.objectContaining({
          type: 'Patient',
          interaction: [{ code: 'read' }],
          operation: [expect.objectContaining({ name: 'phb-summary' })],
        }),
      ]),
    );
  });

  it('refuses a token whose scopes do not cover the request, with insufficient_scope', async () => {
    const { accessToken } = await world.identity.authorizationCode(
      CLIENTS.portal,
      world.username('budget-holder'),
      'openid patient/CarePlan.rs',
    );
    const res = await request(world.app).get(patientUrl()).set('Authorization', `Bearer ${accessToken}`);
    expect(res.status).toBe(403);
    expect(res.body.issue[0]).toMatchObject({ code: 'forbidden' });
    expect(res.body.issue[0].diagnostics).toMatch(/needs patient\/Patient\.r/);
    expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope", scope="patient\/Patient\.r"/);
  });
});
