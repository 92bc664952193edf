import request from 'supertest';
import type { Consent, PractitionerRole } from 'fhir/r4.js';
import { PROTECTED_ROUTES, type ProtectedRoute } from '../../src/api/protectedRoutes.js';
import { grantFor } from '../../src/auth/permissions.js';
import { auditEventsFor, createAuthWorld, requestIdOf, ROLES, type AuthWorld } from '../support/authWorld.js';
import type { Role } from '../../src/auth/caller.js';
import { uniqueId } from '../support/hapi.js';

/**
 * Every role against every protected route, for the patient it may see and for another patient,
 * with real tokens. The expectation comes from the permission table; the facade must agree, leak
 * nothing of the other patient, refuse in its face's error format, and audit every request.
 */
type Case = 'own' | 'other';
const CASES: readonly Case[] = ['own', 'other'];

interface Outcome { route: ProtectedRoute; role: Role; case: Case; requestId: string; status: number; patientId: string }

describe('access matrix: roles x protected routes x patients', () => {
  let world: AuthWorld;
  const tokens = new Map<Role, string>();
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    world = await createAuthWorld();
    for (const role of ROLES) tokens.set(role, await world.token(role));
  });
  afterAll(async () => world.close());

  const rows = PROTECTED_ROUTES.flatMap((route) => ROLES.flatMap((role) => CASES.map((c) => [`${route.face} ${route.path}`, role, c, route] as const)));

  it.each(rows)('%s as %s for the %s patient', async (_name, role, which, route) => {
    const patientId = which === 'own' ? world.own : world.other;
    const requestId = `matrix-${uniqueId('r')}`;
    const res = await request(world.app).get(route.urlFor(patientId)).set('Authorization', `Bearer ${tokens.get(role)}`).set('X-Request-Id', requestId);
    outcomes.push({ route, role, case: which, requestId, status: res.status, patientId });

    const allowed = which === 'own' && grantFor(role, route.resource, route.interaction) !== undefined;
    if (allowed) {
      expect(res.status).toBe(200);
      const text = JSON.stringify(res.body);
      expect(text).not.toContain(world.other);
      if (route.resource === 'Patient') expect(res.body.id).toBe(world.own);
      if (route.face === 'fhir' && route.resource === 'Consent') {
        expect(res.body.entry.map((e: { resource: Consent }) => e.resource.patient?.reference)).toEqual([`Patient/${world.own}`]);
      }
      if (route.face === 'api') expect(res.body.consents).toEqual([expect.objectContaining({ budgetHolderId: world.own })]);
      return;
    }
    expect(res.status).toBe(403);
    if (route.face === 'fhir') {
      expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
      expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden' }] });
    } else {
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 403, title: 'forbidden', requestId });
    }
  });

  it('ran every case and audited every request in HAPI', async () => {
    expect(outcomes).toHaveLength(PROTECTED_ROUTES.length * ROLES.length * CASES.length);
    const allowed = outcomes.filter((o) => o.status === 200).length;
    const denied = outcomes.filter((o) => o.status === 403).length;
    expect(allowed + denied).toBe(outcomes.length);
    expect(outcomes.filter((o) => o.case === 'other' && o.status !== 403)).toEqual([]);

    await world.auth.audit.flush();
    const events = [...(await auditEventsFor(world.store, world.own)), ...(await auditEventsFor(world.store, world.other))];
    const byRequest = new Map(events.map((e) => [requestIdOf(e), e]));
    for (const o of outcomes) {
      const event = byRequest.get(o.requestId);
      expect(event).toBeDefined();
      expect(event?.outcome).toBe(o.status === 200 ? '0' : '4');
      expect(event?.action).toBe(o.route.interaction === 'read' ? 'R' : 'E');
      expect(event?.entity).toEqual(expect.arrayContaining([expect.objectContaining({ what: { reference: `Patient/${o.patientId}` } })]));
      expect(event?.agent?.[0]?.role?.[0]?.coding?.[0]?.code).toBe(o.role);
    }
    // The closing note quotes these numbers.
    process.stdout.write(`access matrix: ${PROTECTED_ROUTES.length} routes x ${ROLES.length} roles x ${CASES.length} cases = ${outcomes.length} requests; ${allowed} allowed, ${denied} denied, ${outcomes.length} AuditEvents found\n`);
  });

  it('narrows a patient-context search that names no patient to the caller\'s own', async () => {
    for (const role of ['budget-holder', 'representative', 'phr-app'] as const) {
      const res = await request(world.app).get('/fhir/Consent').set('Authorization', `Bearer ${tokens.get(role)}`);
      expect(res.status).toBe(200);
      expect(res.body.entry.map((e: { resource: Consent }) => e.resource.patient?.reference)).toEqual([`Patient/${world.own}`]);
    }
    const staff = await request(world.app).get('/fhir/Consent').set('Authorization', `Bearer ${tokens.get('care-coordinator')}`);
    expect(staff.status).toBe(403);
    expect(staff.body.issue[0].diagnostics).toMatch(/Name the patient/);
  });

  it('cuts a PHR app off on its next request once consent is withdrawn', async () => {
    const phr = tokens.get('phr-app') ?? '';
    const read = (): request.Test => request(world.app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${phr}`);
    expect((await read()).status).toBe(200);
    const current = await world.store.read<Consent>('Consent', world.consentIds.own);
    await world.store.update({ ...current, id: world.consentIds.own, status: 'inactive' });
    const after = await read();
    expect(after.status).toBe(403);
    expect(after.body.issue[0].diagnostics).toMatch(/no active consent/);
    // The budget holder's own access does not depend on the app's consent.
    expect((await request(world.app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${tokens.get('budget-holder')}`)).status).toBe(200);
  });

  it('refuses a representative whose relationship is no longer recorded', async () => {
    const rep = tokens.get('representative') ?? '';
    await world.store.update({ resourceType: 'RelatedPerson', id: world.representativeId, active: false, patient: { reference: `Patient/${world.own}` } });
    const res = await request(world.app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${rep}`);
    expect(res.status).toBe(403);
    expect(res.body.issue[0].diagnostics).toMatch(/not recorded as acting/);
  });

  it('refuses a staff member whose PractitionerRole in HAPI does not hold the role in the token', async () => {
    const id = world.staffRoleIds['phb-advisor'];
    const role = await world.store.read<PractitionerRole>('PractitionerRole', id);
    await world.store.update({ ...role, id, active: false });
    const res = await request(world.app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${tokens.get('phb-advisor')}`);
    expect(res.status).toBe(403);
  });
});
