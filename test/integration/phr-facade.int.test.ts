import request from 'supertest';
import type { Express } from 'express';
import type { Bundle, Consent, FhirResource, Parameters, ParametersParameter } from 'fhir/r4.js';
import { createApp } from '../../src/api/app.js';
import { patientOf } from '../../src/fhir/compartment.js';
import type { Auth } from '../../src/api/authSetup.js';
import type { SearchParams, StoreCallOptions } from '../../src/store/fhirStore.js';
import { HapiStore } from '../../src/store/hapiStore.js';
import {
  auditEventsFor,
  CLIENTS,
  createAuthWorld,
  requestIdOf,
  testAuth,
  type AuthWorld,
} from '../support/authWorld.js';
import { fhirBaseUrl, uniqueId } from '../support/hapi.js';
import { seedPhb, type SeededPhb } from '../support/phbRecords.js';

/** The real store, noting the type of every search it sends HAPI. */
class CountingStore extends HapiStore {
  readonly searches: string[] = [];

  override search<T extends FhirResource = FhirResource>(
    resourceType: T['resourceType'],
    params: SearchParams,
    options?: StoreCallOptions,
  ): Promise<Bundle<T>> {
    this.searches.push(resourceType);
    return super.search<T>(resourceType, params, options);
  }
}

/**
 * A PHR app with a patient-scoped token reads its person's PHB on /fhir and nothing of anyone
 * else's: by id, by search, by _include and by the summary operation. Real HAPI, real tokens.
 */
describe("PHR access to the person's own PHB on /fhir", () => {
  let world: AuthWorld;
  let own: SeededPhb;
  let other: SeededPhb;
  let phr: string;
  let staff: string;

  beforeAll(async () => {
    world = await createAuthWorld();
    [own, other] = await Promise.all([seedPhb(world.store, world.own), seedPhb(world.store, world.other)]);
    phr = await world.token('phr-app');
    staff = await world.token('care-coordinator');
  });
  afterAll(async () => world.close());

  const get = (url: string, token = phr): request.Test =>
    request(world.app).get(url).set('Authorization', `Bearer ${token}`);
  const resources = (bundle: Bundle): FhirResource[] =>
    (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
  const patientsIn = (bundle: Bundle): Set<string | undefined> =>
    new Set(resources(bundle).map((r) => (r.resourceType === 'Parameters' ? world.own : patientOf(r))));

  it('reads its own plan by id, with an ETag', async () => {
    const res = await get(`/fhir/CarePlan/${own.planId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      resourceType: 'CarePlan',
      id: own.planId,
      subject: { reference: `Patient/${world.own}` },
    });
    expect(res.headers.etag).toMatch(/^W\/"\d+"$/);
  });

  it("cannot read another person's plan by id: 404, the same as a record that does not exist", async () => {
    const theirs = await get(`/fhir/CarePlan/${other.planId}`);
    const missing = await get('/fhir/CarePlan/no-such-plan-anywhere');
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    // Only the id the caller itself sent comes back: the same answer as for a record that does not exist.
    expect(theirs.body.issue[0].diagnostics.replace(other.planId, 'X')).toBe(
      missing.body.issue[0].diagnostics.replace('no-such-plan-anywhere', 'X'),
    );
  });

  it('searches only its own compartment when no patient is named', async () => {
    for (const type of [
      'CarePlan',
      'Goal',
      'Coverage',
      'EpisodeOfCare',
      'QuestionnaireResponse',
      'Observation',
      'ServiceRequest',
      'Task',
    ]) {
      const res = await get(`/fhir/${type}`);
      expect(res.status).toBe(200);
      expect(res.body.type).toBe('searchset');
      expect(resources(res.body).length).toBeGreaterThan(0);
      expect(patientsIn(res.body)).toEqual(new Set([world.own]));
      expect(JSON.stringify(res.body)).not.toContain(new URL(fhirBaseUrl()).host);
    }
  });

  it('refuses a search naming another person, by patient or subject', async () => {
    for (const url of [
      `/fhir/CarePlan?patient=${world.other}`,
      `/fhir/CarePlan?subject=Patient/${world.other}`,
      `/fhir/Coverage?beneficiary=Patient/${world.other}`,
    ]) {
      const res = await get(url);
      expect(res.status).toBe(403);
      expect(res.body.issue[0].code).toBe('forbidden');
    }
    const two = await get(`/fhir/CarePlan?patient=${world.own}&subject=Patient/${world.other}`);
    expect(two.status).toBe(400);
  });

  it('refuses parameters outside the allow-list instead of ignoring them', async () => {
    const cases: [string, RegExp][] = [
      ['/fhir/CarePlan?care-team=x', /cannot be searched by care-team/],
      ['/fhir/CarePlan?subject.name=Smith', /Chained parameters/],
      ['/fhir/CarePlan?_has:Goal:subject:lifecycle-status=active', /Chained parameters/],
      ['/fhir/CarePlan?status:not=active', /modifiers/],
      ['/fhir/CarePlan?_include=CarePlan:care-team', /_include=CarePlan:care-team is not supported/],
      ['/fhir/CarePlan?_include:iterate=CarePlan:goal', /modifiers/],
      ['/fhir/CarePlan?_revinclude=Provenance:target', /_revinclude=Provenance:target is not supported/],
      ['/fhir/Goal?_elements=id', /cannot be searched by _elements/],
      ['/fhir/CarePlan?subject=Group/g1', /patient must be a Patient/],
      ['/fhir/CarePlan?_count=1000', /_count must be/],
    ];
    for (const [url, message] of cases) {
      const res = await get(url);
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].diagnostics).toMatch(message);
    }
  });

  it('follows an allowed _include within the compartment only', async () => {
    const res = await get('/fhir/CarePlan?_include=CarePlan:goal&_include=CarePlan:patient');
    expect(res.status).toBe(200);
    const found = resources(res.body);
    expect(
      found
        .filter((r) => r.resourceType === 'Goal')
        .map((r) => r.id)
        .sort(),
    ).toEqual([...own.goalIds].sort());
    expect(found.filter((r) => r.resourceType === 'Patient').map((r) => r.id)).toEqual([world.own]);
    expect(patientsIn(res.body)).toEqual(new Set([world.own]));
    const answers = await get(
      '/fhir/QuestionnaireResponse?_include=QuestionnaireResponse:questionnaire&_revinclude=Observation:derived-from',
    );
    expect(
      resources(answers.body)
        .map((r) => r.resourceType)
        .sort(),
    ).toEqual(['Observation', 'Questionnaire', 'QuestionnaireResponse']);
  });

  it('drops an included record of another person even when a reference points at it', async () => {
    // A Goal of the other person referenced from a plan in this person's record must not come back.
    const plan = await world.store.read<FhirResource & { goal?: { reference: string }[] }>('CarePlan', own.planId);
    await world.store.update({
      ...plan,
      id: own.planId,
      goal: [...(plan.goal ?? []), { reference: `Goal/${other.goalIds[0]}` }],
    } as FhirResource & { id: string });
    const res = await get('/fhir/CarePlan?_include=CarePlan:goal');
    expect(res.status).toBe(200);
    expect(resources(res.body).map((r) => r.id)).not.toContain(other.goalIds[0]);
    expect(
      JSON.stringify(res.body.entry.filter((e: { resource: FhirResource }) => e.resource.resourceType === 'Goal')),
    ).not.toContain(world.other);
    await world.store.update({ ...plan, id: own.planId } as FhirResource & { id: string });
  });

  it('pages with facade links only', async () => {
    const res = await get('/fhir/Goal?_count=1&_sort=_id');
    expect(res.status).toBe(200);
    expect(res.body.entry).toHaveLength(1);
    const next = res.body.link.find((l: { relation: string }) => l.relation === 'next')?.url as string;
    expect(next).toMatch(/\/fhir\/Goal\?.*_offset=1/);
    const second = await get(new URL(next).pathname + new URL(next).search);
    expect(second.status).toBe(200);
    expect(second.body.entry).toHaveLength(1);
    expect(second.body.entry[0].resource.id).not.toBe(res.body.entry[0].resource.id);
  });

  it('gives the whole PHB in one summary with money in pence-exact pounds and the score', async () => {
    const res = await get(`/fhir/Patient/${world.own}/$phb-summary`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    const [head, ...rest] = resources(res.body);
    expect(head?.resourceType).toBe('Parameters');
    const params = (head as Parameters).parameter ?? [];
    const budget = params.find((p) => p.name === 'budget')?.part ?? [];
    const money = (name: string): number | undefined =>
      budget.find((p: ParametersParameter) => p.name === name)?.valueMoney?.value;
    expect({
      agreed: money('agreed'),
      paid: money('paid'),
      spent: money('spent'),
      remaining: money('remaining'),
    }).toEqual({ agreed: 450, paid: 420, spent: 400, remaining: 50 });
    expect(params.filter((p) => p.name === 'goal')).toHaveLength(2);
    expect(params.filter((p) => p.name === 'openRequest').map((p) => p.valueReference?.reference)).toEqual([
      `ServiceRequest/${own.requestId}`,
    ]);
    const score = params.find((p) => p.name === 'score')?.part ?? [];
    expect(score.find((p) => p.name === 'latest')?.valueDecimal).toBe(8);
    expect(rest.map((r) => r.resourceType).sort()).toEqual([
      'CarePlan',
      'Coverage',
      'EpisodeOfCare',
      'Goal',
      'Goal',
      'Observation',
      'ServiceRequest',
    ]);
    expect(patientsIn(res.body)).toEqual(new Set([world.own]));
    expect(JSON.stringify(res.body)).not.toContain(world.other);
  });

  it('refuses the summary of another person', async () => {
    const res = await get(`/fhir/Patient/${world.other}/$phb-summary`);
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.body)).not.toContain('CarePlan');
  });

  it("lets staff search their team's patient only when they name the patient", async () => {
    expect((await get('/fhir/CarePlan', staff)).status).toBe(403);
    const ok = await get(`/fhir/CarePlan?patient=${world.own}`, staff);
    expect(ok.status).toBe(200);
    expect(patientsIn(ok.body)).toEqual(new Set([world.own]));
    expect((await get(`/fhir/CarePlan?patient=${world.other}`, staff)).status).toBe(403);
    expect((await get(`/fhir/CarePlan/${other.planId}`, staff)).status).toBe(404);
    expect((await get(`/fhir/CarePlan/${own.planId}`, staff)).status).toBe(200);
  });

  it('serves Questionnaires (definitions) to everyone with the right', async () => {
    expect((await get('/fhir/Questionnaire/phb-impact')).body).toMatchObject({
      resourceType: 'Questionnaire',
      id: 'phb-impact',
    });
    const found = await get('/fhir/Questionnaire?url=https://phb.fhir.example.org/Questionnaire/phb-review');
    expect(resources(found.body).map((r) => r.id)).toEqual(['phb-review']);
  });

  it('answers what it does not serve with a 4xx OperationOutcome, and lists what it serves', async () => {
    for (const res of [
      await get('/fhir/Condition'),
      await get('/fhir/Condition/x'),
      await request(world.app).delete(`/fhir/CarePlan/${own.planId}`).set('Authorization', `Bearer ${phr}`),
      await get(`/fhir/CarePlan/${own.planId}/_history`),
    ]) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
    const meta = await request(world.app).get('/fhir/metadata');
    const types = meta.body.rest[0].resource.map((r: { type: string }) => r.type);
    expect(types).toEqual([
      'Bundle',
      'CarePlan',
      'Consent',
      'Coverage',
      'DocumentReference',
      'EpisodeOfCare',
      'Goal',
      'Observation',
      'Patient',
      'Questionnaire',
      'QuestionnaireResponse',
      'ServiceRequest',
      'Task',
    ]);
    const carePlan = meta.body.rest[0].resource.find((r: { type: string }) => r.type === 'CarePlan');
    expect(carePlan.interaction).toEqual([{ code: 'read' }, { code: 'search-type' }]);
    expect(carePlan.searchInclude).toEqual(['CarePlan:goal', 'CarePlan:patient']);
    const patient = meta.body.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    expect(patient.operation).toEqual([
      { name: 'phb-summary', definition: 'https://phb.fhir.example.org/OperationDefinition/phb-summary' },
    ]);
  });

  it('cuts the PHR app off on its next request once consent is withdrawn', async () => {
    expect((await get(`/fhir/CarePlan/${own.planId}`)).status).toBe(200);
    const current = await world.store.read<Consent>('Consent', world.consentIds.own);
    await world.store.update({ ...current, id: world.consentIds.own, status: 'inactive' });
    try {
      for (const url of [`/fhir/CarePlan/${own.planId}`, '/fhir/CarePlan', `/fhir/Patient/${world.own}/$phb-summary`]) {
        const res = await get(url);
        expect(res.status).toBe(403);
        expect(res.body.issue[0].diagnostics).toMatch(/no active consent/);
      }
    } finally {
      await world.store.update({ ...current, id: world.consentIds.own, status: 'active' });
    }
  });

  describe("the summary checks the PHR app's consent from its own search", () => {
    let store: CountingStore;
    let auth: Auth;
    let app: Express;

    const summary = (requestId = uniqueId('summary')): request.Test => {
      store.searches.length = 0;
      return request(app)
        .get(`/fhir/Patient/${world.own}/$phb-summary`)
        .set('Authorization', `Bearer ${phr}`)
        .set('X-Request-Id', requestId);
    };

    beforeAll(async () => {
      // The same facade as the world's, over a store that notes what it asks HAPI.
      store = new CountingStore({ baseUrl: fhirBaseUrl(), timeoutMs: 15000, retryAfterSeconds: 5 });
      auth = testAuth(store, world.identity.issuer);
      app = createApp({ store, readiness: { conformanceLoaded: true }, retryAfterSeconds: 5, auth });
      // The Questionnaires' scoring rules are cached after the first summary (definitions, not personal data).
      expect((await summary()).status).toBe(200);
    });
    afterAll(async () => auth.audit.close());

    it('answers from one HAPI search, and no Consent leaves', async () => {
      const res = await summary();
      expect(res.status).toBe(200);
      expect(store.searches).toEqual(['Patient']);
      expect(resources(res.body).map((r) => r.resourceType)).not.toContain('Consent');
      expect(resources(res.body).map((r) => r.resourceType)).toContain('CarePlan');
    });

    it.each(['inactive', 'rejected'] as const)(
      'refuses the same token once the Consent is %s, from that one search, and audits the refusal',
      async (status) => {
        const current = await world.store.read<Consent>('Consent', world.consentIds.own);
        await world.store.update({ ...current, id: world.consentIds.own, status });
        try {
          const requestId = uniqueId(`summary-${status}`);
          const res = await summary(requestId);
          expect(res.status).toBe(403);
          expect(res.body).toEqual({
            resourceType: 'OperationOutcome',
            issue: [
              {
                severity: 'error',
                code: 'forbidden',
                diagnostics: 'The person has no active consent to share their record with this app',
              },
            ],
          });
          expect(store.searches).toEqual(['Patient']);
          await auth.audit.flush();
          const event = (await auditEventsFor(world.store, world.own)).find((e) => requestIdOf(e) === requestId);
          expect(event).toMatchObject({
            outcome: '4',
            action: 'R',
            outcomeDesc: expect.stringMatching(/no active consent/),
          });
          expect(event?.agent[0]?.role?.[0]?.coding?.[0]?.code).toBe('phr-app');
        } finally {
          await world.store.update({ ...current, id: world.consentIds.own, status: 'active' });
        }
      },
    );
  });
});

/** Decisions recorded through /api/v1, in a world of their own: each is a new Consent and the latest governs. */
describe("a PHR app's access follows the person's latest sharing decision", () => {
  let world: AuthWorld;
  let own: SeededPhb;
  let phr: string;
  let staff: string;

  beforeAll(async () => {
    world = await createAuthWorld();
    own = await seedPhb(world.store, world.own);
    phr = await world.token('phr-app');
    staff = await world.token('care-coordinator');
  });
  afterAll(async () => world.close());

  const get = (url: string): request.Test => request(world.app).get(url).set('Authorization', `Bearer ${phr}`);

  it("follows the person's latest decision recorded through /api/v1: a withdrawal cuts the app off, a new yes lets it back", async () => {
    const decide = async (status: 'active' | 'inactive'): Promise<void> => {
      const res = await request(world.app)
        .post(`/api/v1/budget-holders/${world.own}/consents`)
        .set('Authorization', `Bearer ${staff}`)
        .set('Idempotency-Key', uniqueId(`consent-${status}`))
        .send({ recipient: CLIENTS.phrApp.clientId, status });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ recipient: CLIENTS.phrApp.clientId, status });
    };
    const urls = [`/fhir/CarePlan/${own.planId}`, '/fhir/CarePlan', `/fhir/Patient/${world.own}/$phb-summary`];
    await decide('inactive');
    try {
      // The earlier active Consent is still stored; the later decision outranks it.
      const stored = await world.store.read<Consent>('Consent', world.consentIds.own);
      expect(stored.status).toBe('active');
      for (const url of urls) {
        const res = await get(url);
        expect([url, res.status]).toEqual([url, 403]);
        expect(res.body.issue[0].diagnostics).toMatch(/no active consent/);
      }
    } finally {
      await decide('active');
    }
    for (const url of urls) expect([url, (await get(url)).status]).toEqual([url, 200]);
  });

  it('answers valid searchsets: a self link on each, and no entry element when nothing matched', async () => {
    const consents = await get(`/fhir/Consent?patient=Patient/${world.own}`);
    expect(consents.status).toBe(200);
    expect(consents.body.link).toEqual([{ relation: 'self', url: expect.stringMatching(/\/fhir\/Consent\?patient=/) }]);
    const empty = await get(`/fhir/ServiceRequest?patient=Patient/${world.own}&status=entered-in-error`);
    expect(empty.status).toBe(200);
    expect(empty.body.total).toBe(0);
    expect(empty.body).not.toHaveProperty('entry');
  });
});
