import request from 'supertest';
import type { AuditEvent, Consent, PractitionerRole } from 'fhir/r4.js';
import { PROTECTED_ROUTES as ALL_ROUTES } from '../../src/api/protectedRoutes.js';
import type { ProtectedRoute } from '../../src/api/route.js';
import { grantFor } from '../../src/auth/permissions.js';
import { createAuthWorld, requestIdOf, ROLES, type AuthWorld } from '../support/authWorld.js';
import type { Role } from '../../src/auth/caller.js';
import { uniqueId } from '../support/hapi.js';
import { seedPhb } from '../support/phbRecords.js';

// Routes about one patient's record; the publisher's administrative routes have their own test (publish.int.test.ts).
const PROTECTED_ROUTES = ALL_ROUTES.filter((r) => !r.administrative);

/**
 * Every role against every protected route, for the patient it may see and for another patient,
 * with real tokens. The expectation comes from the permission table; the facade must agree, leak
 * nothing of the other patient, refuse in its face's error format, and audit every request.
 */
type Case = 'own' | 'other';
const CASES: readonly Case[] = ['own', 'other'];

interface Outcome {
  route: ProtectedRoute;
  role: Role;
  case: Case;
  requestId: string;
  status: number;
  patientId: string;
}

/** All AuditEvents about a patient, page by page (the matrix writes more than HAPI returns at once). */
async function everyAuditEventFor(world: AuthWorld, patientId: string): Promise<AuditEvent[]> {
  const all: AuditEvent[] = [];
  for (;;) {
    const page = await world.store.search<AuditEvent>('AuditEvent', {
      entity: `Patient/${patientId}`,
      _sort: '_id',
      _count: 500,
      _offset: all.length,
    });
    const found = (page.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
    if (found.length === 0) return all;
    all.push(...found);
  }
}

const ACTION = { read: 'R', search: 'E', create: 'C', update: 'U', delete: 'D' } as const;

/**
 * What the permission table says should happen. Definitions (reach `any`) are the same for every
 * patient. For another patient: routes that read the record first answer 404 (no existence leak),
 * operations on several patients report that person as a per-target issue, the rest answer 403.
 */
function expectedStatus(route: ProtectedRoute, role: Role, which: Case): 'success' | 'handled' | 403 | 404 {
  const grant = grantFor(role, route.resource, route.interaction);
  if (!grant) return 403;
  // A route whose example is not a usable request: past the guard, its handler refuses it (a 4xx, never 401/403).
  const passed = route.exampleRefused ? 'handled' : 'success';
  // An `import` row serves the EHR import alone (a route for several patients that checks rows itself); elsewhere it is refused like another patient's record.
  if (grant.reach === 'import' && !route.reachPerPatient) return route.resolvePatient ? 404 : 403;
  if (which === 'own' || grant.reach === 'any') return passed;
  if (route.resolvePatient) return 404;
  if (route.reachPerPatient) return passed;
  return 403;
}

const statusClass = (status: number): 'success' | number => (status >= 200 && status < 300 ? 'success' : status);

describe('access matrix: roles x protected routes x patients', () => {
  let world: AuthWorld;
  const tokens = new Map<Role, string>();
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    world = await createAuthWorld();
    // Every read-by-id route has a record to find, for both patients.
    await Promise.all([seedPhb(world.store, world.own), seedPhb(world.store, world.other)]);
    for (const role of ROLES) tokens.set(role, await world.token(role));
  });
  afterAll(async () => world.close());

  const rows = PROTECTED_ROUTES.flatMap((route) =>
    ROLES.flatMap((role) =>
      CASES.map((c) => [`${route.face} ${route.method.toUpperCase()} ${route.path}`, role, c, route] as const),
    ),
  );

  it.each(rows)('%s as %s for the %s patient', async (_name, role, which, route) => {
    const patientId = which === 'own' ? world.own : world.other;
    const requestId = `matrix-${uniqueId('r')}`;
    const body = route.bodyFor?.(patientId);
    const call = request(world.app)
      [route.method](route.urlFor(patientId))
      .set('Authorization', `Bearer ${tokens.get(role)}`)
      .set('X-Request-Id', requestId);
    const res = body === undefined ? await call : await call.send(body as object);
    outcomes.push({ route, role, case: which, requestId, status: res.status, patientId });

    const expected = expectedStatus(route, role, which);
    const handled =
      expected === 'handled' && res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 403;
    expect({ status: handled ? 'handled' : statusClass(res.status), issue: res.body?.issue?.[0]?.diagnostics }).toEqual(
      expect.objectContaining({ status: expected }),
    );
    if (expected === 'handled') {
      // The handler's own refusal in its face's format (problem+json, or OperationOutcome on /fhir), about this request only.
      expect(res.headers['content-type']).toMatch(
        route.face === 'fhir' ? /^application\/fhir\+json/ : /^application\/problem\+json/,
      );
      expect(JSON.stringify(res.body)).not.toContain(which === 'own' ? world.other : world.own);
      return;
    }
    if (expected === 'success') {
      const text = JSON.stringify(res.body);
      if (which === 'own') expect(text).not.toContain(world.other);
      if (route.resource === 'Patient' && route.interaction === 'read' && !route.operation)
        expect(res.body.id).toBe(world.own);
      if (route.face === 'fhir' && route.resource === 'Consent') {
        expect(res.body.entry.map((e: { resource: Consent }) => e.resource.patient?.reference)).toEqual([
          `Patient/${world.own}`,
        ]);
      }
      if (route.face === 'api' && route.resource === 'Consent')
        expect(res.body.consents).toEqual([expect.objectContaining({ budgetHolderId: world.own })]);
      // Another patient named to a multi-patient operation is reported, never acted on.
      if (which === 'other' && route.reachPerPatient) expect(text).not.toContain('ServiceRequest/');
      return;
    }
    if (route.face === 'fhir') {
      expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
      expect(res.body).toMatchObject({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: expected === 404 ? 'not-found' : 'forbidden' }],
      });
    } else {
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 403, title: 'forbidden', requestId });
    }
  });

  it('ran every case and audited every request in HAPI', async () => {
    expect(outcomes).toHaveLength(PROTECTED_ROUTES.length * ROLES.length * CASES.length);
    const allowed = outcomes.filter((o) => o.status < 300).length;
    const handledByRoute = outcomes.filter((o) => expectedStatus(o.route, o.role, o.case) === 'handled').length;
    const denied = outcomes.filter(
      (o) => (o.status === 403 || o.status === 404) && expectedStatus(o.route, o.role, o.case) !== 'handled',
    ).length;
    expect(allowed + denied + handledByRoute).toBe(outcomes.length);
    expect(
      outcomes.filter(
        (o) => o.case === 'other' && o.status < 300 && expectedStatus(o.route, o.role, 'other') !== 'success',
      ),
    ).toEqual([]);

    await world.auth.audit.flush();
    const events = [...(await everyAuditEventFor(world, world.own)), ...(await everyAuditEventFor(world, world.other))];
    const byRequest = new Map<string | undefined, AuditEvent[]>();
    for (const e of events) byRequest.set(requestIdOf(e), [...(byRequest.get(requestIdOf(e)) ?? []), e]);
    let audited = 0;
    for (const o of outcomes) {
      const grant = grantFor(o.role, o.route.resource, o.route.interaction);
      // Definitions are not about a patient: staff reading them leave no patient to find the event by.
      if (grant?.reach === 'any' && !['budget-holder', 'representative', 'phr-app'].includes(o.role)) continue;
      // A role refused outright, before the record or targets are read, has no patient to name.
      if (
        !grant &&
        (o.route.reachPerPatient || o.route.resolvePatient || !o.route.urlFor(o.patientId).includes(o.patientId))
      )
        continue;
      // A route that names no patient (a referral of someone new) leaves no patient to find the event by.
      if (o.route.reachPerPatient && !o.route.urlFor(o.patientId).includes(o.patientId)) continue;
      const found = byRequest.get(o.requestId) ?? [];
      // A patient caller reading definitions is audited against its own patient, whichever case.
      const auditedPatient = grant?.reach === 'any' ? world.own : o.patientId;
      const event = found.find((e) => e.entity?.some((x) => x.what?.reference === `Patient/${auditedPatient}`));
      expect({ request: `${o.route.method} ${o.route.path} ${o.role} ${o.case}`, found: event !== undefined }).toEqual({
        request: `${o.route.method} ${o.route.path} ${o.role} ${o.case}`,
        found: true,
      });
      const refused = o.status >= 300 || (o.case === 'other' && o.route.reachPerPatient === true);
      expect(event?.outcome).toBe(refused ? '4' : '0');
      expect(event?.action).toBe(ACTION[o.route.interaction]);
      expect(event?.agent?.[0]?.role?.[0]?.coding?.[0]?.code).toBe(o.role);
      audited++;
    }
    // The skip rules above leave out only requests that name no patient: most must be checked.
    expect(audited).toBeGreaterThan(outcomes.length / 2);
    // The closing note quotes these numbers.
    process.stdout.write(
      `access matrix: ${PROTECTED_ROUTES.length} routes x ${ROLES.length} roles x ${CASES.length} cases = ${outcomes.length} requests; ${allowed} allowed, ${denied} denied, ${handledByRoute} past the guard and refused by the handler (example bodies), ${audited} AuditEvents found and checked\n`,
    );
  });

  it("narrows a patient-context search that names no patient to the caller's own", async () => {
    for (const role of ['budget-holder', 'representative', 'phr-app'] as const) {
      const res = await request(world.app)
        .get('/fhir/Consent')
        .set('Authorization', `Bearer ${tokens.get(role)}`);
      expect(res.status).toBe(200);
      expect(res.body.entry.map((e: { resource: Consent }) => e.resource.patient?.reference)).toEqual([
        `Patient/${world.own}`,
      ]);
    }
    const staff = await request(world.app)
      .get('/fhir/Consent')
      .set('Authorization', `Bearer ${tokens.get('care-coordinator')}`);
    expect(staff.status).toBe(403);
    expect(staff.body.issue[0].diagnostics).toMatch(/Name the patient/);
  });

  it('cuts a PHR app off on its next request once consent is withdrawn', async () => {
    const phr = tokens.get('phr-app') ?? '';
    const read = (): request.Test =>
      request(world.app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${phr}`);
    expect((await read()).status).toBe(200);
    const current = await world.store.read<Consent>('Consent', world.consentIds.own);
    await world.store.update({ ...current, id: world.consentIds.own, status: 'inactive' });
    const after = await read();
    expect(after.status).toBe(403);
    expect(after.body.issue[0].diagnostics).toMatch(/no active consent/);
    // The budget holder's own access does not depend on the app's consent.
    expect(
      (
        await request(world.app)
          .get(`/fhir/Patient/${world.own}`)
          .set('Authorization', `Bearer ${tokens.get('budget-holder')}`)
      ).status,
    ).toBe(200);
  });

  it('refuses a representative whose relationship is no longer recorded', async () => {
    const rep = tokens.get('representative') ?? '';
    await world.store.update({
      resourceType: 'RelatedPerson',
      id: world.representativeId,
      active: false,
      patient: { reference: `Patient/${world.own}` },
    });
    const res = await request(world.app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${rep}`);
    expect(res.status).toBe(403);
    expect(res.body.issue[0].diagnostics).toMatch(/not recorded as acting/);
  });

  it('refuses a staff member whose PractitionerRole in HAPI does not hold the role in the token', async () => {
    const id = world.staffRoleIds['phb-advisor'];
    const role = await world.store.read<PractitionerRole>('PractitionerRole', id);
    await world.store.update({ ...role, id, active: false });
    const res = await request(world.app)
      .get(`/fhir/Patient/${world.own}`)
      .set('Authorization', `Bearer ${tokens.get('phb-advisor')}`);
    expect(res.status).toBe(403);
  });
});
