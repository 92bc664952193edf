import express, { type Express, type Request, type Response } from 'express';
import request from 'supertest';
import type { Consent, FhirResource } from 'fhir/r4.js';
import type { JWTPayload } from 'jose';
import { requestContext } from '../../src/api/context.js';
import { fhirErrorHandler } from '../../src/api/render.js';
import type { AccessRecord } from '../../src/auth/access.js';
import type { AuditLog } from '../../src/audit/auditLog.js';
import type { AccessFacts } from '../../src/auth/authorize.js';
import { currentAccess, permissionGuard, type RouteAccessOptions } from '../../src/auth/guard.js';
import type { TokenVerifier } from '../../src/auth/verify.js';
import { logger } from '../../src/log/logger.js';
import { unauthorized } from '../../src/outcome/errors.js';
import { phrConsent } from '../support/consents.js';

/**
 * The guard leaving a PHR app's consent check to a route whose own search brings the Consents
 * (`consentInRecords`). Tokens are taken as verified (their claims by name); the facts count
 * what they are asked.
 */

const ISSUER = { iss: 'https://idp.example', sub: 'u1', scope: 'patient/*.rs' };
const TOKENS: Readonly<Record<string, JWTPayload>> = {
  phr: { ...ISSUER, client_id: 'phr', fhirUser: 'Patient/p1', patient: 'p1' },
  'phr-representative': { ...ISSUER, client_id: 'phr', fhirUser: 'RelatedPerson/r1', patient: 'p1' },
  holder: { ...ISSUER, client_id: 'portal', fhirUser: 'Patient/p1' },
};
const NO_CONSENT = 'The person has no active consent to share their record with this app';
/** What the route would send: it must never leave unless the consent was settled. */
const SECRET = 'secret-plan-of-p1';

interface World {
  app: Express;
  asked: { consentActive: number; represents: number; route: number };
  audited: AccessRecord[];
}

/**
 * A guarded route that settles the consent with `records` (or not at all when undefined), then
 * sends the data; the real error renderer of /fhir behind it.
 */
function world(
  records: FhirResource[] | undefined,
  options: Partial<RouteAccessOptions> = { consentInRecords: true },
  answers: Partial<Record<keyof AccessFacts, boolean>> = {},
): World {
  const asked = { consentActive: 0, represents: 0, route: 0 };
  const audited: AccessRecord[] = [];
  const facts: AccessFacts = {
    consentActive: async () => {
      asked.consentActive += 1;
      return answers.consentActive ?? true;
    },
    onTeam: async () => answers.onTeam ?? true,
    memberOfTeam: async () => answers.memberOfTeam ?? true,
    onCaseload: async () => answers.onCaseload ?? true,
    registeredWith: async () => answers.registeredWith ?? true,
    represents: async () => {
      asked.represents += 1;
      return answers.represents ?? true;
    },
  };
  const verifier = {
    verify: async (token: string) => TOKENS[token] ?? Promise.reject(unauthorized('unknown test token', 'Bearer')),
  } as unknown as TokenVerifier;
  const audit = {
    record: (record: AccessRecord) => {
      audited.push(record);
      return { durable: Promise.resolve(), stored: Promise.resolve(undefined) };
    },
  } as unknown as AuditLog;
  const requirePermission = permissionGuard({ verifier, callers: { phrAppClients: ['phr'] }, facts, audit });

  const app = express();
  app.use(requestContext({ retryAfterSeconds: 5 }));
  const route = async (req: Request, res: Response): Promise<void> => {
    asked.route += 1;
    if (records) currentAccess().settleConsent(records);
    res.type('application/fhir+json').json({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: { resourceType: 'Basic', id: SECRET } }],
    });
  };
  app.get(
    '/fhir/Patient/:id/summary',
    requirePermission('Patient', 'read', { patient: (req) => String(req.params.id), ...options }),
    route,
  );
  app.use(fhirErrorHandler);
  return { app, asked, audited };
}

const get = (w: World, token = 'phr'): request.Test =>
  request(w.app).get('/fhir/Patient/p1/summary').set('Authorization', `Bearer ${token}`);

/** The record made when the response finished (it is written after the body is handed over). */
async function finished(w: World): Promise<AccessRecord | undefined> {
  await new Promise((resolve) => setImmediate(resolve));
  return w.audited.at(-1);
}

describe('the guard leaving the consent check to the route (consentInRecords)', () => {
  it('never asks the store, and answers once the route settles it with an active Consent', async () => {
    const w = world([
      { resourceType: 'Patient', id: 'p1' },
      phrConsent({ status: 'inactive', id: 'c0', dateTime: '2025-12-01T00:00:00Z' }),
      phrConsent(),
    ]);
    const res = await get(w);
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).toContain(SECRET);
    expect(w.asked).toEqual({ consentActive: 0, represents: 0, route: 1 });
    expect(await finished(w)).toMatchObject({ outcome: 'success', patientId: 'p1' });
  });

  it.each([
    ['no Consent', []],
    ['a withdrawn Consent', [phrConsent({ status: 'inactive' })]],
    ['a refused Consent', [phrConsent({ status: 'rejected' })]],
    ['a Consent naming another app', [phrConsent({ recipient: 'other-app' })]],
    ['a Consent of another person', [phrConsent({ budgetHolderId: 'p2' })]],
  ] as [string, Consent[]][])(
    "refuses with the guard's own 403 when the records hold %s, and audits it as denied",
    async (_case, consents) => {
      const w = world([{ resourceType: 'Patient', id: 'p1' }, ...consents]);
      const res = await get(w);
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
      expect(res.body).toEqual({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'forbidden', diagnostics: NO_CONSENT }],
      });
      expect(JSON.stringify(res.body)).not.toContain(SECRET);
      expect(w.asked.consentActive).toBe(0);
      expect(await finished(w)).toMatchObject({ outcome: 'denied', reason: NO_CONSENT, patientId: 'p1' });
    },
  );

  it('answers exactly as the guard does when it checks the consent itself', async () => {
    const deferred = await get(world([]));
    const checkedByGuard = await get(world(undefined, {}, { consentActive: false }));
    expect(checkedByGuard.status).toBe(403);
    expect(deferred.body).toEqual(checkedByGuard.body);
  });

  it('turns an answer sent without settling into a 500 OperationOutcome, never the data', async () => {
    const w = world(undefined);
    logger.silent = true;
    try {
      const res = await get(w);
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
      expect(res.body).toMatchObject({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'exception' }],
      });
      expect(res.text).not.toContain(SECRET);
      expect(await finished(w)).toMatchObject({ outcome: 'failed' });
    } finally {
      logger.silent = false;
    }
  });

  it('still checks everything else before the route runs (a representative not recorded)', async () => {
    const w = world([phrConsent()], { consentInRecords: true }, { represents: false });
    const res = await get(w, 'phr-representative');
    expect(res.status).toBe(403);
    expect(res.body.issue[0].diagnostics).toMatch(/representative is not recorded/);
    expect(w.asked).toEqual({ consentActive: 0, represents: 1, route: 0 });
  });

  it('leaves nothing to settle for a caller whose row needs no consent', async () => {
    const unsettled = world(undefined);
    expect((await get(unsettled, 'holder')).status).toBe(200);
    const settledWithNothing = world([]);
    expect((await get(settledWithNothing, 'holder')).status).toBe(200);
    expect(settledWithNothing.asked.consentActive).toBe(0);
  });

  it('asks the facts as before for a route without the flag', async () => {
    const w = world(undefined, {});
    expect((await get(w)).status).toBe(200);
    expect(w.asked.consentActive).toBe(1);
  });
});
