import path from 'node:path';
import request from 'supertest';
import type { Bundle, QuestionnaireResponse } from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';
import { readConformanceFiles } from '../../src/conformance/files.js';
import { loadConformance } from '../../src/conformance/loader.js';
import { CARER_ASSESSMENT_OUTCOMES } from '../../src/domain/codes.js';
import * as qr from '../../src/fhir/questionnaireResponse.js';
import { createAuthWorld, type AuthWorld } from '../support/authWorld.js';
import {
  eligibleJourney,
  journeyPeople,
  postAs,
  storeSubmitter,
  submitterToken,
  type JourneyPeople,
} from '../support/journeyDriver.js';
import { describeIssues, validationErrors } from '../support/validation.js';

/**
 * The needs conversation's unpaid carers through /api/v1 with real tokens and the real HAPI: an
 * offer and its outcome recorded and read back, valid against the phb-needs Questionnaire; a
 * broken carer rule refused naming the field, with nothing written.
 */
describe('/api/v1 needs conversation: unpaid carers offered an assessment', () => {
  let world: AuthWorld;
  let people: JourneyPeople;
  let submitter: string;
  let cc = '';
  let holderId = '';
  let journeyPath = '';

  const post = (body: unknown): Promise<request.Response> => postAs(world.app, cc, `${journeyPath}/needs`, body);
  const responses = async (): Promise<QuestionnaireResponse[]> =>
    ((await world.store.search('QuestionnaireResponse', { subject: `Patient/${holderId}` })) as Bundle).entry?.map(
      (e) => e.resource as QuestionnaireResponse,
    ) ?? [];

  beforeAll(async () => {
    people = journeyPeople(0);
    world = await createAuthWorld({ extraUsers: people.users });
    await storeSubmitter(world.store, people);
    await loadConformance(world.store, await readConformanceFiles(path.join(repoRoot, 'profiles')));
    submitter = await submitterToken(world, people);
    cc = await world.token('care-coordinator');
    ({ holderId, journeyPath } = await eligibleJourney(world, people, submitter, cc, {
      name: 'Carer Tester',
      birthDate: '1975-04-04',
      kind: 'ongoing',
      cohort: 'mental-health-recovery',
    }));
  }, 120000);
  afterAll(async () => world.close());

  it('a broken carer rule is 422 naming /carers/<i>/<field>, and nothing is written', async () => {
    const res = await post({
      whatMattersToMe: 'Keeping my job.',
      completed: '2026-01-08T10:00:00Z',
      carers: [
        { relationship: 'my mum', assessmentOffered: true, outcome: 'accepted-referred' },
        { relationship: 'my brother', assessmentOffered: false, outcome: 'declined' },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((res.body.errors as { pointer?: string }[]).map((e) => e.pointer)).toEqual(['/carers/1/outcome']);
    expect(await responses()).toEqual([]);
    const journey = await request(world.app).get(`/api/v1${journeyPath}`).set('Authorization', `Bearer ${cc}`);
    expect(journey.body.journey.stage).toBe('eligible');
  });

  it('a name beside the relationship is refused (400): only who they are to the person is kept', async () => {
    const res = await post({
      whatMattersToMe: 'Keeping my job.',
      carers: [{ relationship: 'my mum', name: 'Jean Smith', assessmentOffered: false, notOfferedReason: 'x' }],
    });
    expect(res.status).toBe(400);
    expect(await responses()).toEqual([]);
  });

  it('records a carer offered an assessment with its outcome, and one not offered with the reason', async () => {
    const carers = [
      { relationship: 'my mum', assessmentOffered: true, outcome: 'accepted-referred', offeredOn: '2026-01-08' },
      { relationship: 'my brother', assessmentOffered: false, notOfferedReason: 'He lives in Canada.' },
    ];
    const res = await post({ whatMattersToMe: 'Keeping my job.', completed: '2026-01-08T10:00:00Z', carers });
    expect(res.status).toBe(201);
    expect(res.body.carers).toEqual(carers);

    const stored = await responses();
    expect(stored).toHaveLength(1);
    const [resource] = stored;
    if (!resource) throw new Error('no QuestionnaireResponse');
    expect(qr.needsFromFhir(resource).carers).toEqual(carers);
    expect(describeIssues(validationErrors(await world.store.validate(resource, qr.PROFILE)))).toEqual([]);

    const journey = await request(world.app).get(`/api/v1${journeyPath}`).set('Authorization', `Bearer ${cc}`);
    expect(journey.status).toBe(200);
    expect(journey.body.needs.carers).toEqual(carers);
  });

  it('publishes carers in its OpenAPI document, every reference resolving', async () => {
    const res = await request(world.app).get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const schemas = res.body.components.schemas as Record<string, { properties?: Record<string, unknown> }>;
    expect(schemas.NeedsInput?.properties?.carers).toMatchObject({
      items: { $ref: '#/components/schemas/UnpaidCarerInput' },
    });
    expect(schemas.UnpaidCarerInput?.properties?.outcome).toMatchObject({ enum: [...CARER_ASSESSMENT_OUTCOMES] });
    expect(schemas.Needs?.properties?.carers).toBeDefined();
    const refs = [...JSON.stringify(res.body).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs).toContain('UnpaidCarerInput');
    expect(refs.filter((name) => !name || !(name in schemas))).toEqual([]);
  });
});
