import request from 'supertest';
import { createApp } from '../../src/api/app.js';
import type { Readiness } from '../../src/api/readiness.js';
import { HapiStore } from '../../src/store/hapiStore.js';
import { testStore } from '../support/hapi.js';

describe('facade service endpoints on the real HAPI server', () => {
  const readiness: Readiness = { conformanceLoaded: true };
  const app = createApp({ store: testStore(), readiness, retryAfterSeconds: 5 });

  it('GET /health answers while the process is up', async () => {
    const res = await request(app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('GET /ready is 200 when HAPI answers and conformance resources are loaded', async () => {
    const res = await request(app).get('/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { fhirStore: 'reachable', conformance: 'loaded' } });
  });

  it('GET /ready is 503 with Retry-After while conformance resources are still loading', async () => {
    const loading = createApp({ store: testStore(), readiness: { conformanceLoaded: false }, retryAfterSeconds: 5 });
    const res = await request(loading).get('/ready');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body.checks).toEqual({ fhirStore: 'reachable', conformance: 'pending' });
  });

  it('GET /ready is 503 when HAPI is unreachable, and answers quickly', async () => {
    const down = new HapiStore({ baseUrl: 'http://127.0.0.1:9/fhir', timeoutMs: 1000, retryAfterSeconds: 9 });
    const res = await request(createApp({ store: down, readiness, retryAfterSeconds: 9 })).get('/ready');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('9');
    expect(res.body.checks.fhirStore).toBe('unreachable');
  });

  it('keeps a well-formed caller request id and replaces an unsafe one', async () => {
    const kept = await request(app).get('/health').set('X-Request-Id', 'abc-12345-def');
    expect(kept.headers['x-request-id']).toBe('abc-12345-def');
    const replaced = await request(app).get('/health').set('X-Request-Id', 'Ade Okafor 9990079196 !!');
    expect(replaced.headers['x-request-id']).not.toContain('Okafor');
  });

  it('answers unknown /fhir paths with an OperationOutcome', async () => {
    const res = await request(app).get('/fhir/Medication/1');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].code).toBe('not-supported');
  });

  it('answers malformed JSON on /fhir with 400 OperationOutcome', async () => {
    const res = await request(app)
      .post('/fhir/Patient')
      .set('Content-Type', 'application/fhir+json')
      .send('{"resourceType":');
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0]).toMatchObject({ code: 'structure', diagnostics: 'The request body is not valid JSON' });
  });

  it('answers unknown /api paths and malformed JSON with problem+json', async () => {
    const missing = await request(app).get('/api/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.body).toMatchObject({ status: 404, title: 'not-found', instance: '/api/v1/nothing-here' });
    expect(missing.body.requestId).toBe(missing.headers['x-request-id']);

    const malformed = await request(app)
      .post('/api/v1/referrals')
      .set('Content-Type', 'application/json')
      .send('{oops');
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors[0].detail).toBe('The request body is not valid JSON');
  });
});
