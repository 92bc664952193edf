import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type {
  AuditEvent,
  Bundle,
  CarePlan,
  Composition,
  DocumentReference,
  EpisodeOfCare,
  FhirResource,
  Goal,
  OperationOutcome,
  Patient,
  Questionnaire,
} from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';
import { parseDestinations } from '../../src/config/destinations.js';
import { readConformanceFiles } from '../../src/conformance/files.js';
import { loadConformance } from '../../src/conformance/loader.js';
import { computeScore } from '../../src/domain/scores.js';
import * as account from '../../src/fhir/account.js';
import * as carePlan from '../../src/fhir/careplan.js';
import * as careTeam from '../../src/fhir/careTeam.js';
import * as chargeItem from '../../src/fhir/chargeItem.js';
import { SYSTEMS } from '../../src/fhir/common.js';
import * as coverage from '../../src/fhir/coverage.js';
import { DOCUMENT_TYPE, PHB_SECTION, SECTIONS } from '../../src/fhir/discharge.js';
import { DOCUMENT_SYSTEM } from '../../src/fhir/dischargeRecords.js';
import * as episodeOfCare from '../../src/fhir/episodeOfCare.js';
import * as goalMapper from '../../src/fhir/goal.js';
import * as observation from '../../src/fhir/observation.js';
import * as organization from '../../src/fhir/organization.js';
import * as patientMapper from '../../src/fhir/patient.js';
import { numericAnswers, scoringRules } from '../../src/fhir/questionnaire.js';
import * as answers from '../../src/fhir/questionnaireResponse.js';
import { Planner } from '../../src/publish/decide.js';
import { auditEventsFor, createAuthWorld, type AuthWorld } from '../support/authWorld.js';
import { dischargeContentFor } from '../support/dischargeContent.js';
import { EHR_GOAL_SYSTEM, ehrBundle } from '../support/ehrBundle.js';
import { uniqueId, freshNhsNumber } from '../support/hapi.js';
import { seedPhb } from '../support/phbRecords.js';
import { loadScenarios } from '../support/scenarios.js';
import { scenarioDomain } from '../support/scenarioDomain.js';
import { validationErrors } from '../support/validation.js';
import { putEntry } from '../support/transactions.js';

/**
 * Discharge to primary care end to end, with the real HAPI and real tokens: the s117 and laptop
 * scenarios' journeys (written with the mappers) closed by the operation into a stored document;
 * the GP system listing and fetching only its registered patients' documents; the publisher
 * choosing the stored document for the right practice; goals in from a secondary care EHR.
 */
const scenarios = loadScenarios().filter((s) => s.id === 's117-aftercare-notional' || s.id === 'ch-laptop-gcse');
const review = JSON.parse(
  readFileSync(path.join(repoRoot, 'profiles', 'questionnaires', 'phb-review.json'), 'utf8'),
) as Questionnaire;
const TYPE = `${SYSTEMS.snomed}|${DOCUMENT_TYPE.code}`;

interface Seeded {
  scenario: string;
  patientId: string;
  journeyId: string;
  planId: string;
  goalTexts: string[];
}

/** A scenario's journey as it stands just before discharge (open, plan agreed), for a person registered with `gpOds`. */
async function seedScenario(world: AuthWorld, id: string, gpOds: string): Promise<Seeded> {
  const s = scenarios.find((x) => x.id === id);
  if (!s) throw new Error(id);
  const prefix = `${uniqueId('d')}-`;
  const c = dischargeContentFor(s, prefix);
  const p = (x: string): string => `${prefix}${x}`;
  const holder = { ...c.holder, nhsNumber: freshNhsNumber() as typeof c.holder.nhsNumber, gpPracticeOds: gpOds };
  const journey = {
    ...c.journey,
    stage: 'active' as const,
    end: undefined,
    closureReason: undefined,
    leadContactId: undefined,
  };
  const plan = { ...c.plan, status: 'active' as const };
  const approved = (s.requests ?? []).filter((r) => !r.expectRefused);
  const ledger = { budgetHolderId: holder.id };
  const resources: FhirResource[] = [
    { ...patientMapper.toFhir(holder), id: holder.id },
    organization.toFhir(c.payor),
    careTeam.toFhir({
      id: p('team'),
      budgetHolderId: holder.id,
      memberIds: [world.staffRoleIds['care-coordinator']],
      active: true,
    }),
    episodeOfCare.toFhir(journey),
    coverage.toFhir(c.budget),
    account.toFhir(account.accountFor(c.budget)),
    ...approved.flatMap((r, i) => [
      chargeItem.toFhir(
        {
          kind: 'payment',
          payment: {
            id: p(`pay-${i}`),
            budgetId: c.budget.id,
            amount: r.amount,
            paid: '2026-01-15T10:00:00Z',
            managementOption: 'direct-payment',
          },
        },
        ledger,
      ),
      chargeItem.toFhir(
        {
          kind: 'spend',
          line: {
            id: p(`spend-${i}`),
            budgetId: c.budget.id,
            amount: r.amount,
            category: r.category,
            occurred: '2026-01-20',
          },
        },
        ledger,
      ),
    ]),
    ...c.goals.map(goalMapper.toFhir),
    carePlan.toFhir(plan),
  ];
  // The laptop scenario's reviews, with the impact score of each, so the document shows the trend.
  const [rule] = scoringRules(review);
  for (const r of scenarioDomain(s).reviews) {
    const goalProgress = Object.fromEntries(Object.entries(r.goalProgress).map(([k, v]) => [p(k), v]));
    const response = answers.toFhir({
      ...r,
      id: p(r.id),
      journeyId: journey.id,
      budgetHolderId: holder.id,
      goalProgress,
    });
    resources.push(response);
    const value = rule && r.impact ? computeScore(rule, numericAnswers(response)) : undefined;
    if (rule && value !== undefined) {
      resources.push(
        observation.toFhir({
          id: p(`${r.id}-score`),
          budgetHolderId: holder.id,
          journeyId: journey.id,
          questionnaire: review.url ?? '',
          ...(review.version ? { questionnaireVersion: review.version } : {}),
          score: rule.score,
          value,
          time: r.completed,
          responseId: response.id,
        }),
      );
    }
  }
  await world.store.transaction({ resourceType: 'Bundle', type: 'transaction', entry: resources.map(putEntry) });
  return {
    scenario: id,
    patientId: holder.id,
    journeyId: journey.id,
    planId: plan.id,
    goalTexts: c.goals.map((g) => g.text),
  };
}

const NOTES = {
  resourceType: 'Parameters',
  parameter: [
    {
      name: 'clinicalSummary',
      valueString:
        "Discharged from secondary mental health care after a personal health budget supported the person's recovery goals.",
    },
    { name: 'contact', valueString: 'recovery team duty line 020 7946 0000' },
    {
      name: 'actionForGp',
      valueString: 'Review at the next routine appointment how the person is getting on with their goals.',
    },
    {
      name: 'actionForPerson',
      valueString: 'Keep going to the activities the budget paid for; contact the recovery team if things get harder.',
    },
    { name: 'informationGiven', valueString: 'How to contact the recovery team after discharge.' },
    { name: 'individualRequirements', valueString: 'Prefers appointments by text message.' },
  ],
};

function entries<T extends FhirResource>(bundle: Bundle, type: T['resourceType']): T[] {
  return (bundle.entry ?? []).flatMap((e) => (e.resource?.resourceType === type ? [e.resource as T] : []));
}

describe('discharge to primary care', () => {
  let world: AuthWorld;
  const seeded = new Map<string, Seeded>();
  const documents = new Map<string, Bundle>();
  let staff: string;
  let gp: string;

  beforeAll(async () => {
    world = await createAuthWorld();
    await loadConformance(world.store, await readConformanceFiles(path.join(repoRoot, 'profiles')));
    // The laptop person is registered with the calling GP practice; the s117 person with another.
    seeded.set('ch-laptop-gcse', await seedScenario(world, 'ch-laptop-gcse', world.gpOds));
    seeded.set('s117-aftercare-notional', await seedScenario(world, 's117-aftercare-notional', `${world.gpOds}X`));
    [staff, gp] = await Promise.all([world.token('care-coordinator'), world.token('gp-system')]);
  }, 120000);
  afterAll(async () => world.close());

  const discharge = (journeyId: string, token = staff, body: unknown = NOTES): request.Test =>
    request(world.app)
      .post(`/fhir/EpisodeOfCare/${journeyId}/$discharge-document`)
      .set('Authorization', `Bearer ${token}`)
      .send(body as object);

  it.each(scenarios.map((s) => [s.id]))(
    '%s: closes the journey and stores a valid document with the required sections and the goals',
    async (id) => {
      const s = seeded.get(id) as Seeded;
      const res = await discharge(s.journeyId);
      expect(res.status).toBe(200);
      const bundle = res.body as Bundle;
      documents.set(id, bundle);
      expect(bundle).toMatchObject({
        resourceType: 'Bundle',
        type: 'document',
        identifier: { system: DOCUMENT_SYSTEM, value: `discharge-${s.journeyId}` },
      });
      expect(res.headers['content-location']).toMatch(new RegExp(`/fhir/Bundle/${bundle.id ?? 'none'}$`));

      const composition = bundle.entry?.[0]?.resource as Composition;
      expect(composition.resourceType).toBe('Composition');
      const codes = (composition.section ?? []).map((x) => x.code?.coding?.[0]?.code);
      for (const heading of Object.values(SECTIONS)) expect(codes).toContain(heading.code);
      expect(codes).toContain(PHB_SECTION.code);
      for (const x of composition.section ?? [])
        expect(x.text?.div).toMatch(/^<div xmlns="http:\/\/www.w3.org\/1999\/xhtml">.+<\/div>$/);
      // Every reference resolves inside the document.
      const urls = new Set((bundle.entry ?? []).map((e) => e.fullUrl));
      const refs = [...JSON.stringify(bundle).matchAll(/"reference":"([^"]+)"/g)].map((m) => m[1]);
      expect(refs.length).toBeGreaterThan(10);
      for (const r of refs) expect(urls.has(r)).toBe(true);
      // The scenario's goals, in the person's words (s117: g1).
      const scenario = scenarios.find((x) => x.id === id);
      const carried =
        (scenario?.expect.discharge as { documentCarriesGoals?: string[] } | undefined)?.documentCarriesGoals ??
        scenario?.goals.map((g) => g.key) ??
        [];
      const goalTexts = entries<Goal>(bundle, 'Goal').map((g) => g.description.text);
      for (const key of carried) expect(goalTexts).toContain(scenario?.goals.find((g) => g.key === key)?.text);
      expect(goalTexts.sort()).toEqual([...s.goalTexts].sort());
      // The author is the calling staff member.
      const role = entries(bundle, 'PractitionerRole')[0];
      expect(role?.id).toBe(world.staffRoleIds['care-coordinator']);

      const outcome = await world.store.validate(bundle);
      expect(validationErrors(outcome)).toEqual([]);

      // The journey is closed on discharge and the plan completed, in the same transaction.
      const episode = episodeOfCare.fromFhir(await world.store.read<EpisodeOfCare>('EpisodeOfCare', s.journeyId));
      expect(episode).toMatchObject({
        stage: 'closed',
        closureReason: 'discharged-to-primary-care',
        end: new Date().toISOString().slice(0, 10),
      });
      expect((await world.store.read<CarePlan>('CarePlan', s.planId)).status).toBe('completed');
    },
  );

  it("shows the laptop scenario's impact trend in the document", () => {
    const bundle = documents.get('ch-laptop-gcse') as Bundle;
    const scores = entries(bundle, 'Observation');
    expect(scores).toHaveLength(1);
    expect(JSON.stringify(scores[0])).toContain('improved');
  });

  it('returns the stored document unchanged when called again, and stores it once', async () => {
    // Filled by the test above: an empty map would make this one pass on nothing.
    expect(documents.size).toBe(scenarios.length);
    for (const [id, first] of documents) {
      const s = seeded.get(id) as Seeded;
      const again = await discharge(s.journeyId, staff, {});
      expect(again.status).toBe(200);
      expect(JSON.stringify(again.body)).toBe(JSON.stringify(first));
      const stored = await world.store.search<Bundle>('Bundle', {
        identifier: `${DOCUMENT_SYSTEM}|discharge-${s.journeyId}`,
      });
      expect(stored.entry).toHaveLength(1);
      const listed = await world.store.search<DocumentReference>('DocumentReference', {
        patient: `Patient/${s.patientId}`,
        type: TYPE,
      });
      expect(listed.entry?.map((e) => e.resource?.content[0]?.attachment.url)).toEqual([`Bundle/${first.id ?? ''}`]);
    }
  });

  it("refuses staff not on the person's team (404) and roles that may not close a journey (403)", async () => {
    const s = seeded.get('ch-laptop-gcse') as Seeded;
    const other = await world.token('phb-advisor');
    expect((await discharge(s.journeyId, other)).status).toBe(403);
    const fresh = await seedPhb(world.store, world.other);
    const res = await discharge(fresh.journeyId);
    expect(res.status).toBe(404);
    expect(res.body.issue[0].code).toBe('not-found');
  });

  it("lets a GP system list and fetch its registered patients' documents only", async () => {
    const ours = seeded.get('ch-laptop-gcse') as Seeded;
    const theirs = seeded.get('s117-aftercare-notional') as Seeded;
    const list = await request(world.app)
      .get(`/fhir/DocumentReference?patient=Patient/${ours.patientId}&type=${encodeURIComponent(TYPE)}`)
      .set('Authorization', `Bearer ${gp}`);
    expect(list.status).toBe(200);
    const refs =
      (list.body as Bundle).entry?.map((e) => (e.resource as DocumentReference).content[0]?.attachment.url) ?? [];
    const ourDocument = documents.get('ch-laptop-gcse') as Bundle;
    expect(refs).toEqual([`Bundle/${ourDocument.id ?? ''}`]);
    const fetched = await request(world.app)
      .get(`/fhir/${refs[0] ?? ''}`)
      .set('Authorization', `Bearer ${gp}`);
    expect(fetched.status).toBe(200);
    expect(JSON.stringify(fetched.body)).toBe(JSON.stringify(ourDocument));

    const notListed = await request(world.app)
      .get(`/fhir/DocumentReference?patient=Patient/${theirs.patientId}&type=${encodeURIComponent(TYPE)}`)
      .set('Authorization', `Bearer ${gp}`);
    expect(notListed.status).toBe(403);
    const notFetched = await request(world.app)
      .get(`/fhir/Bundle/${documents.get('s117-aftercare-notional')?.id ?? ''}`)
      .set('Authorization', `Bearer ${gp}`);
    expect(notFetched.status).toBe(404);
    expect(notFetched.body.issue[0].code).toBe('not-found');
    // Not a document: as unknown as a missing one.
    expect(
      (await request(world.app).get('/fhir/Bundle/no-such-document').set('Authorization', `Bearer ${gp}`)).status,
    ).toBe(404);
  });

  it('records who produced and who fetched the document', async () => {
    const s = seeded.get('ch-laptop-gcse') as Seeded;
    const document = documents.get('ch-laptop-gcse') as Bundle;
    await world.auth.audit.flush();
    const events = await auditEventsFor(world.store, s.patientId);
    const by = (action: string, what: string, role: string): AuditEvent | undefined =>
      events.find(
        (e) =>
          e.action === action &&
          e.outcome === '0' &&
          e.entity?.some((x) => x.what?.reference === what) &&
          e.agent[0]?.role?.[0]?.coding?.[0]?.code === role,
      );
    expect(by('U', `EpisodeOfCare/${s.journeyId}`, 'care-coordinator')?.agent[0]?.who?.reference).toBe(
      `PractitionerRole/${world.staffRoleIds['care-coordinator']}`,
    );
    expect(by('R', `Bundle/${document.id ?? ''}`, 'gp-system')).toBeDefined();
  });

  it('has the publisher notify the practice the person is registered with, and no other', async () => {
    const document = await world.store.read<Bundle>('Bundle', documents.get('ch-laptop-gcse')?.id ?? '');
    const destination = (ods: string) =>
      parseDestinations(
        {
          destinations: [
            {
              id: `gp-${ods.toLowerCase()}`,
              kind: 'gp',
              fhirBaseUrl: 'http://127.0.0.1:9/fhir',
              auth: { issuer: 'http://127.0.0.1:9', clientId: 'c', clientSecretEnv: 'GP_SECRET' },
              accepts: ['DocumentReference'],
              gp: { odsCode: ods, deliver: 'notification', documentBaseUrl: 'http://127.0.0.1:8080/fhir' },
            },
          ],
        },
        'test',
        { secret: () => 'secret', production: false },
      )[0];
    const change = {
      key: `Bundle/${document.id ?? ''}/_history/1`,
      resourceType: 'Bundle',
      id: document.id ?? '',
      version: '1',
      time: document.meta?.lastUpdated ?? '',
      resource: document,
    };
    const ours = await new Planner(
      world.store,
      destination(world.gpOds) as NonNullable<ReturnType<typeof destination>>,
    ).decide(change);
    expect(ours).toMatchObject({
      kind: 'send',
      actions: [
        {
          op: 'upsert',
          body: {
            resourceType: 'DocumentReference',
            content: [{ attachment: { url: `http://127.0.0.1:8080/fhir/Bundle/${document.id ?? ''}` } }],
          },
        },
      ],
    });
    const theirs = await new Planner(
      world.store,
      destination(`${world.gpOds}Z`) as NonNullable<ReturnType<typeof destination>>,
    ).decide(change);
    expect(theirs).toEqual({ kind: 'skip', why: 'the patient is registered with another practice' });
  });
});

describe('goals in from a secondary care EHR (POST /fhir)', () => {
  let world: AuthWorld;
  let ehr: string;

  beforeAll(async () => {
    world = await createAuthWorld();
    ehr = await world.token('ehr-system');
  }, 60000);
  afterAll(async () => world.close());

  const send = (bundle: Bundle, token = ehr): request.Test =>
    request(world.app).post('/fhir').set('Authorization', `Bearer ${token}`).send(bundle);
  const goalsOf = async (patientId: string): Promise<Goal[]> =>
    entries<Goal>(
      await world.store.search<Goal>('Goal', {
        patient: `Patient/${patientId}`,
        identifier: `${EHR_GOAL_SYSTEM}|`,
        _count: 100,
      }),
      'Goal',
    );

  it("adds the goals to the person's open journey plan once, and a changed text updates the goal", async () => {
    const seededPhb = await seedPhb(world.store, world.own);
    const g1 = uniqueId('G');
    const g2 = uniqueId('G');
    const bundle = (text: string): Bundle =>
      ehrBundle(
        world.nhsNumbers.own,
        [
          { id: g1, text },
          { id: g2, text: 'I want to see my friends weekly.', achievement: 'improving' },
        ],
        true,
      );
    const first = await send(bundle('I want to keep my allotment going.'));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ resourceType: 'Bundle', type: 'transaction-response' });
    expect((first.body as Bundle).entry?.map((e) => e.response?.location?.split('/')[0])).toEqual([
      'Goal',
      'Goal',
      'CarePlan',
      'CarePlan',
    ]);
    expect((await send(bundle('I want to keep my allotment going.'))).status).toBe(200);
    let goals = (await goalsOf(world.own)).filter((g) => g.identifier?.some((i) => i.value === g1 || i.value === g2));
    expect(goals.map((g) => g.description.text).sort()).toEqual([
      'I want to keep my allotment going.',
      'I want to see my friends weekly.',
    ]);
    const plan = await world.store.read<CarePlan>('CarePlan', seededPhb.planId);
    const listed = (plan.goal ?? []).map((g) => g.reference);
    for (const g of goals) expect(listed.filter((r) => r === `Goal/${g.id ?? ''}`)).toHaveLength(1);
    expect(listed).toHaveLength(seededPhb.goalIds.length + 2);

    await send(bundle('I want to keep my allotment going and grow vegetables for my family.'));
    goals = (await goalsOf(world.own)).filter((g) => g.identifier?.some((i) => i.value === g1 || i.value === g2));
    expect(goals).toHaveLength(2);
    const changed = goals.find((g) => g.identifier?.[0]?.value === g1);
    expect(changed?.description.text).toBe('I want to keep my allotment going and grow vegetables for my family.');
    expect(changed?.meta?.versionId).toBe('2');
    expect((await world.store.read<CarePlan>('CarePlan', seededPhb.planId)).goal).toHaveLength(
      seededPhb.goalIds.length + 2,
    );
    expect(
      (
        await world.store.search('CarePlan', {
          patient: `Patient/${world.own}`,
          identifier: 'https://ehr.example-trust.nhs.uk/Id/careplan|CP-7',
        })
      ).entry,
    ).toHaveLength(1);
  });

  it('records a person new to the service and starts a referral, once', async () => {
    const nhsNumber = freshNhsNumber();
    const bundle = ehrBundle(nhsNumber, [{ id: uniqueId('G'), text: 'I want to get back to work.' }]);
    const person = bundle.entry?.[0]?.resource as Patient;
    person.name = [{ text: 'Sam Patel' }];
    person.birthDate = '1990-05-01';
    person.generalPractitioner = [{ identifier: { system: SYSTEMS.odsOrganisation, value: world.gpOds } }];
    expect((await send(bundle)).status).toBe(200);
    expect((await send(bundle)).status).toBe(200);
    const people = entries<Patient>(
      await world.store.search<Patient>('Patient', { identifier: `${SYSTEMS.nhsNumber}|${nhsNumber}` }),
      'Patient',
    );
    expect(people).toHaveLength(1);
    const patientId = people[0]?.id ?? '';
    expect(patientMapper.fromFhir(people[0] as Patient)).toMatchObject({
      name: 'Sam Patel',
      birthDate: '1990-05-01',
      gpPracticeOds: world.gpOds,
    });
    const journeys = entries<EpisodeOfCare>(
      await world.store.search<EpisodeOfCare>('EpisodeOfCare', { patient: `Patient/${patientId}` }),
      'EpisodeOfCare',
    );
    expect(journeys.map((j) => episodeOfCare.fromFhir(j).stage)).toEqual(['referred']);
    expect((await goalsOf(patientId)).map((g) => g.description.text)).toEqual(['I want to get back to work.']);
  });

  it('stores nothing when one entry is invalid, and names the entry', async () => {
    const nhsNumber = freshNhsNumber();
    const g1 = uniqueId('G');
    const bundle = ehrBundle(nhsNumber, [
      { id: g1, text: 'A good goal.' },
      { id: uniqueId('G'), text: 'A goal with a bad date.' },
    ]);
    const person = bundle.entry?.[0]?.resource as Patient;
    person.name = [{ text: 'Alex Jones' }];
    person.birthDate = '1975-02-03';
    (bundle.entry?.[2]?.resource as Goal).startDate = '2026-02-31x';
    const res = await send(bundle);
    expect(res.status).toBe(422);
    const outcome = res.body as OperationOutcome;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue.map((i) => i.expression?.[0])).toContain('Bundle.entry[2].resource');
    expect(outcome.issue.every((i) => i.expression?.[0] === 'Bundle.entry[2].resource')).toBe(true);
    expect(
      entries(await world.store.search('Patient', { identifier: `${SYSTEMS.nhsNumber}|${nhsNumber}` }), 'Patient'),
    ).toEqual([]);
    expect((await world.store.search('Goal', { identifier: `${EHR_GOAL_SYSTEM}|${g1}` })).entry ?? []).toEqual([]);

    // A problem the Bundle itself shows is named the same way, before anything is asked of the store.
    const empty = ehrBundle(world.nhsNumbers.own, [{ id: uniqueId('G'), text: '' }]);
    const refused = await send(empty);
    expect(refused.status).toBe(422);
    expect(refused.body.issue[0].expression).toEqual(['Bundle.entry[1].resource.description.text']);
  });

  it('is refused to anyone but an EHR system', async () => {
    const bundle = ehrBundle(world.nhsNumbers.own, [{ id: uniqueId('G'), text: 'x' }]);
    for (const role of ['care-coordinator', 'gp-system', 'phr-app'] as const) {
      const res = await send(bundle, await world.token(role));
      expect(res.status).toBe(403);
    }
    // And the EHR system reads nothing, not even the person it sent goals for.
    expect(
      (await request(world.app).get(`/fhir/Patient/${world.own}`).set('Authorization', `Bearer ${ehr}`)).status,
    ).toBe(403);
  });
});
