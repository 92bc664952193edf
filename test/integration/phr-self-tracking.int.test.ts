import request from 'supertest';
import type {
  Bundle,
  CareTeam,
  Goal,
  Observation,
  Organization,
  Parameters,
  Patient,
  QuestionnaireResponse,
  ServiceRequest,
} from 'fhir/r4.js';
import * as answers from '../../src/fhir/questionnaireResponse.js';
import { SYSTEMS } from '../../src/fhir/common.js';
import { TEAM_SYSTEM } from '../../src/fhir/practitioner.js';
import { AMENDABLE_BY_EXTENSION } from '../../src/fhir/serviceRequest.js';
import { createAuthWorld, CLIENTS, type AuthWorld } from '../support/authWorld.js';
import { uniqueId, freshNhsNumber } from '../support/hapi.js';
import { PASSWORD } from '../support/identity.js';
import { seedPhb, type SeededPhb } from '../support/phbRecords.js';
import { loadScenarios } from '../support/scenarios.js';
import { scenarioDomain } from '../support/scenarioDomain.js';

const IMPACT = 'https://phb.fhir.example.org/Questionnaire/phb-impact|0.1.0';

function impact(
  patientId: string,
  values: Record<string, number>,
  extra: Partial<QuestionnaireResponse> = {},
): QuestionnaireResponse {
  return {
    resourceType: 'QuestionnaireResponse',
    status: 'completed',
    questionnaire: IMPACT,
    subject: { reference: `Patient/${patientId}` },
    authored: new Date().toISOString(),
    item: Object.entries(values).map(([linkId, v]) => ({ linkId, answer: [{ valueInteger: v }] })),
    ...extra,
  };
}

describe('self-tracking: answers, scores and goal progress from the person or their PHR app', () => {
  let world: AuthWorld;
  let own: SeededPhb;
  let other: SeededPhb;
  let phr: string;

  beforeAll(async () => {
    world = await createAuthWorld();
    [own, other] = await Promise.all([seedPhb(world.store, world.own), seedPhb(world.store, world.other)]);
    phr = await world.token('phr-app');
  });
  afterAll(async () => world.close());

  const post = (body: object, token = phr): request.Test =>
    request(world.app).post('/fhir/QuestionnaireResponse').set('Authorization', `Bearer ${token}`).send(body);
  const search = async <T>(type: string, params: Record<string, string>): Promise<T[]> =>
    ((await world.store.search(type as 'Observation', params)) as Bundle).entry?.map((e) => e.resource as T) ?? [];

  it('stores the answers, completes the request they answer and stores the score derived from them, together', async () => {
    const res = await post(
      impact(
        world.own,
        { confidence: 4, connected: 3, progressTowardGoals: 4, wellbeing: 3 },
        { basedOn: [{ reference: `ServiceRequest/${own.requestId}` }] },
      ),
    );
    expect(res.status).toBe(201);
    expect(res.headers.location).toMatch(/\/fhir\/QuestionnaireResponse\/[^/]+\/_history\/1$/);
    const saved = res.body as QuestionnaireResponse;
    expect(saved.basedOn).toEqual([{ reference: `ServiceRequest/${own.requestId}` }]);
    expect(saved.extension?.find((e) => e.url.endsWith('phb-journey'))?.valueReference?.reference).toBe(
      `EpisodeOfCare/${own.journeyId}`,
    );
    expect((await world.store.read<ServiceRequest>('ServiceRequest', own.requestId)).status).toBe('completed');
    const scores = await search<Observation>('Observation', { 'derived-from': `QuestionnaireResponse/${saved.id}` });
    expect(scores).toHaveLength(1);
    expect(scores[0]).toMatchObject({
      status: 'final',
      valueQuantity: { value: 14 },
      subject: { reference: `Patient/${world.own}` },
      basedOn: [{ reference: `ServiceRequest/${own.requestId}` }],
    });
    const provenance = await search('Provenance', { target: `QuestionnaireResponse/${saved.id}` });
    expect(provenance).toHaveLength(1);
  });

  it('refuses an invalid response naming the item, and writes nothing', async () => {
    const before = (await search('QuestionnaireResponse', { patient: world.own })).length;
    const res = await post(impact(world.own, { confidence: 7, connected: 3, progressTowardGoals: 4 }));
    expect(res.status).toBe(422);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const issues = res.body.issue as { code: string; diagnostics: string; expression?: string[] }[];
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: 'value',
          diagnostics: expect.stringMatching(/'confidence': 7 is above the maximum of 5/),
          expression: ['QuestionnaireResponse.item[0].answer[0]'],
        }),
        expect.objectContaining({ code: 'required', diagnostics: expect.stringMatching(/'wellbeing' is required/) }),
      ]),
    );
    expect((await search('QuestionnaireResponse', { patient: world.own })).length).toBe(before);
  });

  it('checks a choice answer against the value set its item names: an unknown review point is refused, a known one stored', async () => {
    const reviewOf = (point: string, achievement = 'improving'): QuestionnaireResponse => ({
      resourceType: 'QuestionnaireResponse',
      status: 'completed',
      questionnaire: 'https://phb.fhir.example.org/Questionnaire/phb-review|0.1.0',
      subject: { reference: `Patient/${world.own}` },
      item: [
        {
          linkId: 'review-point',
          answer: [{ valueCoding: { system: 'https://phb.fhir.example.org/CodeSystem/review-point', code: point } }],
        },
        {
          linkId: 'goal-progress',
          item: [
            { linkId: 'goal', answer: [{ valueReference: { reference: `Goal/${own.goalIds[0]}` } }] },
            {
              linkId: 'achievement',
              answer: [
                {
                  valueCoding: { system: 'http://terminology.hl7.org/CodeSystem/goal-achievement', code: achievement },
                },
              ],
            },
          ],
        },
      ],
    });
    const before = (await search('QuestionnaireResponse', { patient: world.own })).length;
    for (const [body, item] of [
      [reviewOf('half-way-ish'), 'review-point'],
      [reviewOf('midpoint', 'nearly-there'), 'achievement'],
    ] as const) {
      const refused = await post(body);
      expect(refused.status).toBe(422);
      expect(refused.body.issue).toEqual([
        expect.objectContaining({
          code: 'code-invalid',
          diagnostics: expect.stringMatching(new RegExp(`Item '${item}': '.+' is not one of the allowed answers`)),
        }),
      ]);
    }
    expect((await search('QuestionnaireResponse', { patient: world.own })).length).toBe(before);
    expect((await post(reviewOf('midpoint'))).status).toBe(201);
  });

  it('refuses answers about someone else, and a request of someone else', async () => {
    expect(
      (await post(impact(world.other, { confidence: 3, connected: 3, progressTowardGoals: 3, wellbeing: 3 }))).status,
    ).toBe(403);
    const theirs = await post(
      impact(
        world.own,
        { confidence: 3, connected: 3, progressTowardGoals: 3, wellbeing: 3 },
        { basedOn: [{ reference: `ServiceRequest/${other.requestId}` }] },
      ),
    );
    expect(theirs.status).toBe(422);
    expect(theirs.body.issue[0].expression).toEqual(['QuestionnaireResponse.basedOn[0]']);
    expect((await world.store.read<ServiceRequest>('ServiceRequest', other.requestId)).status).toBe('active');
  });

  describe('goal progress', () => {
    const goalUrl = (): string => `/fhir/Goal/${own.goalIds[0]}`;
    const put = (body: Goal, ifMatch?: string): request.Test => {
      const r = request(world.app).put(goalUrl()).set('Authorization', `Bearer ${phr}`);
      return (ifMatch ? r.set('If-Match', ifMatch) : r).send(body);
    };

    it('lets the person record achievement and add a note, honouring If-Match', async () => {
      const read = await request(world.app).get(goalUrl()).set('Authorization', `Bearer ${phr}`);
      const current = read.body as Goal;
      const next: Goal = {
        ...current,
        achievementStatus: { coding: [{ system: SYSTEMS.goalAchievement, code: 'improving' }] },
        note: [{ text: 'Handed in my first assignment.', time: '2026-02-01T10:00:00Z' }],
      };
      const res = await put(next, read.headers.etag);
      expect(res.status).toBe(200);
      expect(res.body.achievementStatus.coding[0].code).toBe('improving');
      expect(res.headers.etag).not.toBe(read.headers.etag);
      // The version the client read is now stale.
      const stale = await put(
        { ...next, achievementStatus: { coding: [{ system: SYSTEMS.goalAchievement, code: 'achieved' }] } },
        read.headers.etag,
      );
      expect(stale.status).toBe(412);
      expect(stale.body.resourceType).toBe('OperationOutcome');
    });

    it('refuses any other change, naming the field', async () => {
      const current = (await request(world.app).get(goalUrl()).set('Authorization', `Bearer ${phr}`)).body as Goal;
      const reworded = await put({ ...current, description: { text: 'I want something else.' } });
      expect(reworded.status).toBe(422);
      expect(reworded.body.issue[0]).toMatchObject({ code: 'business-rule', expression: ['Goal.description'] });
      const status = await put({ ...current, lifecycleStatus: 'completed' });
      expect(status.body.issue[0].expression).toEqual(['Goal.lifecycleStatus']);
      const rewritten = await put({
        ...current,
        note: [{ text: 'Something different.', time: '2026-02-01T10:00:00Z' }],
      });
      expect(rewritten.status).toBe(422);
      expect(rewritten.body.issue[0].expression).toEqual(['Goal.note[0]']);
    });

    it("does not reveal another person's goal", async () => {
      const theirs = await request(world.app)
        .put(`/fhir/Goal/${other.goalIds[0]}`)
        .set('Authorization', `Bearer ${phr}`)
        .send({ resourceType: 'Goal', id: other.goalIds[0] });
      expect(theirs.status).toBe(404);
    });
  });

  describe('scenario answers give the expected trend in the summary', () => {
    const withTrend = loadScenarios().filter((s) => typeof s.expect.impactTrend === 'string');
    const people = new Map<string, { patientId: string; username: string; seeded?: SeededPhb }>();

    beforeAll(async () => {
      // Each scenario's person, with a PHB in HAPI and their own sign-in (the provider restarts to know them).
      for (const s of withTrend) {
        const person = { patientId: uniqueId('pt-scn'), username: uniqueId('scn') };
        await world.store.update<Patient & { id: string }>({
          resourceType: 'Patient',
          id: person.patientId,
          active: true,
        });
        people.set(s.id, { ...person, seeded: await seedPhb(world.store, person.patientId) });
        world.identity.addUser({
          username: person.username,
          password: PASSWORD,
          claims: { fhirUser: `Patient/${person.patientId}`, patient: person.patientId },
        });
      }
      await world.identity.rotateKeys();
    });

    it.each(withTrend.map((s) => [s.id, s] as const))('%s', async (_id, s) => {
      const person = people.get(s.id);
      if (!person?.seeded) throw new Error('scenario person not seeded');
      const { patientId, seeded } = person;
      const token = (
        await world.identity.authorizationCode(
          CLIENTS.portal,
          person.username,
          'openid fhirUser launch/patient patient/*.cruds',
        )
      ).accessToken;
      const d = scenarioDomain(s);
      for (const review of d.reviews.filter((r) => r.impact)) {
        const { id: _id2, ...body } = answers.toFhir({
          ...review,
          budgetHolderId: patientId,
          journeyId: seeded.journeyId,
          goalProgress: {},
        });
        const res = await post(body, token);
        expect(res.status).toBe(201);
      }
      const summary = await request(world.app)
        .get(`/fhir/Patient/${patientId}/$phb-summary`)
        .set('Authorization', `Bearer ${token}`);
      expect(summary.status).toBe(200);
      const params = (summary.body.entry[0].resource as Parameters).parameter ?? [];
      const review = params
        .filter((p) => p.name === 'score')
        .find((p) =>
          p.part?.some((x) => x.name === 'questionnaire' && x.valueCanonical === answers.QUESTIONNAIRES.review),
        );
      expect(review?.part?.find((x) => x.name === 'trend')?.valueCode).toBe(s.expect.impactTrend);
      expect(review?.part?.find((x) => x.name === 'count')?.valueInteger).toBe(
        d.reviews.filter((r) => r.impact).length,
      );
    });
  });
});

describe('$send-questionnaire-request (Patient Knows Best parameters)', () => {
  let world: AuthWorld;
  let staff: string;
  let known: { id: string; nhsNumber: string };

  beforeAll(async () => {
    world = await createAuthWorld();
    staff = await world.token('care-coordinator');
    known = { id: uniqueId('pt-nhs'), nhsNumber: freshNhsNumber() };
    await world.store.update<Patient & { id: string }>({
      resourceType: 'Patient',
      id: known.id,
      active: true,
      identifier: [{ system: SYSTEMS.nhsNumber, value: known.nhsNumber }],
    });
    await world.store.update<CareTeam & { id: string }>({
      resourceType: 'CareTeam',
      id: uniqueId('ct'),
      status: 'active',
      subject: { reference: `Patient/${known.id}` },
      participant: [{ member: { reference: `PractitionerRole/${world.staffRoleIds['care-coordinator']}` } }],
    });
  });
  afterAll(async () => world.close());

  const send = (parameter: unknown[], token = staff, headers: Record<string, string> = {}): request.Test =>
    request(world.app)
      .post('/fhir/Questionnaire/phb-impact/$send-questionnaire-request')
      .set('Authorization', `Bearer ${token}`)
      .set(headers)
      .send({ resourceType: 'Parameters', parameter });
  const target = (valueReference: object): object => ({ name: 'target', valueReference });
  const requestsOf = (body: Parameters): string[] =>
    (body.parameter ?? []).filter((p) => p.name === 'request').map((p) => p.valueReference?.reference ?? '');
  const issuesOf = (body: Parameters): { code: string; diagnostics: string; expression: string[] }[] =>
    (
      (body.parameter ?? []).find((p) => p.name === 'outcome')?.resource as
        { issue: { code: string; diagnostics: string; expression: string[] }[] } | undefined
    )?.issue ?? [];

  it('asks 3 people of whom 1 is unknown: 2 ServiceRequests and 1 issue', async () => {
    const additional = {
      name: 'additionalIdentifier',
      valueIdentifier: { system: 'https://example.org/round', value: uniqueId('round') },
    };
    const params = [
      target({ reference: `Patient/${world.own}` }),
      target({ identifier: { system: SYSTEMS.nhsNumber, value: known.nhsNumber } }),
      target({ reference: `Patient/${uniqueId('nobody')}` }),
      additional,
      { name: 'notificationFlag', valueBoolean: true },
    ];
    const res = await send(params);
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('Parameters');
    const refs = requestsOf(res.body);
    expect(refs).toHaveLength(2);
    expect(issuesOf(res.body)).toEqual([
      expect.objectContaining({ code: 'not-found', expression: ['Parameters.parameter[2]'] }),
    ]);
    const created = await Promise.all(
      refs.map((r) => world.store.read<ServiceRequest>('ServiceRequest', r.split('/')[1] ?? '')),
    );
    expect(created.map((sr) => sr.subject?.reference).sort()).toEqual(
      [`Patient/${known.id}`, `Patient/${world.own}`].sort(),
    );
    expect(
      created.every(
        (sr) => sr.status === 'active' && sr.extension?.[0]?.valueReference?.reference === 'Questionnaire/phb-impact',
      ),
    ).toBe(true);

    // A retry finds the same requests instead of asking twice.
    const again = await send(params);
    expect(requestsOf(again.body).sort()).toEqual([...refs].sort());
  });

  it('collapses duplicates and reports invalid targets without failing the call', async () => {
    const res = await send(
      [
        target({ reference: `Patient/${world.own}` }),
        target({ reference: `Patient/${world.own}` }),
        target({ identifier: { system: SYSTEMS.nhsNumber, value: '1234567890' } }),
        target({ reference: 'Practitioner/x' }),
      ],
      staff,
      { 'Idempotency-Key': uniqueId('k') },
    );
    expect(res.status).toBe(200);
    expect(requestsOf(res.body)).toHaveLength(1);
    expect(issuesOf(res.body).map((i) => [i.code, i.expression[0]])).toEqual([
      ['invalid', 'Parameters.parameter[2]'],
      ['invalid', 'Parameters.parameter[3]'],
    ]);
  });

  it("reports a person outside the caller's team like an unknown one", async () => {
    const res = await send([target({ reference: `Patient/${world.other}` })]);
    expect(res.status).toBe(200);
    expect(requestsOf(res.body)).toEqual([]);
    expect(issuesOf(res.body)[0]?.diagnostics).toMatch(/no patient known to this service for this caller/);
  });

  it('refuses 501 targets and no target', async () => {
    const many = Array.from({ length: 501 }, (_, i) => target({ reference: `Patient/p${i}` }));
    const res = await send(many);
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ code: 'too-long' });
    expect((await send([])).status).toBe(400);
    expect((await send([{ name: 'colour', valueString: 'red' }])).status).toBe(400);
  });

  it('is for staff only', async () => {
    for (const role of ['budget-holder', 'phr-app'] as const) {
      const res = await send([target({ reference: `Patient/${world.own}` })], await world.token(role));
      expect(res.status).toBe(403);
    }
  });

  describe("Patient Knows Best's documented variants", () => {
    const code = (name: string, valueCode: string): object => ({ name, valueCode });
    const nhs = (value: string): object => target({ identifier: { system: SYSTEMS.nhsNumber, value } });
    let system: string;
    beforeAll(async () => {
      system = await world.token('questionnaire-system');
      // `known` joins the system's team's caseload too.
      await world.store.update<CareTeam & { id: string }>({
        resourceType: 'CareTeam',
        id: uniqueId('ct'),
        identifier: [{ system: TEAM_SYSTEM, value: world.team }],
        status: 'active',
        subject: { reference: `Patient/${known.id}` },
      });
    });
    const created = async (body: Parameters): Promise<ServiceRequest[]> =>
      Promise.all(
        requestsOf(body).map((r) => world.store.read<ServiceRequest>('ServiceRequest', r.split('/')[1] ?? '')),
      );

    it('simple variant: a requestor, people by NHS number and by id, notificationFlag as a code', async () => {
      const res = await send([
        { name: 'requestor', valueReference: { reference: `Practitioner/${world.staffRoleIds['care-coordinator']}` } },
        nhs(known.nhsNumber),
        target({ reference: `Patient/${world.own}` }),
        code('notificationFlag', 'EMAIL_NOTIFICATION_ENABLED'),
      ]);
      expect(res.status).toBe(200);
      expect(issuesOf(res.body)).toEqual([]);
      const requests = await created(res.body);
      expect(requests.map((r) => r.subject?.reference).sort()).toEqual(
        [`Patient/${known.id}`, `Patient/${world.own}`].sort(),
      );
      expect(
        requests.every((r) => r.requester?.reference === `Practitioner/${world.staffRoleIds['care-coordinator']}`),
      ).toBe(true);
    });

    it('advanced variant from a system client: teamId, additionalIdentifier, amendableBy and notificationFlag codes', async () => {
      const res = await send(
        [
          nhs(known.nhsNumber),
          {
            name: 'additionalIdentifier',
            valueIdentifier: { system: 'https://example.org/wlv', value: uniqueId('wlv') },
          },
          code('notificationFlag', 'EMAIL_NOTIFICATION_DISABLED'),
          code('amendableBy', 'patient'),
          code('amendableBy', 'practitioner'),
          { name: 'teamId', valueString: world.team },
        ],
        system,
      );
      expect(res.status).toBe(200);
      expect(issuesOf(res.body)).toEqual([]);
      const [request] = await created(res.body);
      expect(request?.subject?.reference).toBe(`Patient/${known.id}`);
      expect(
        (request?.extension ?? []).filter((e) => e.url === AMENDABLE_BY_EXTENSION).map((e) => e.valueCode),
      ).toEqual(['patient', 'practitioner']);
    });

    it("advanced variant with the team in PKB's x-team-id header, nobody may amend", async () => {
      const res = await send([nhs(known.nhsNumber)], system, {
        'x-team-id': world.team,
        'Idempotency-Key': uniqueId('k'),
      });
      expect(res.status).toBe(200);
      const [request] = await created(res.body);
      expect(request?.extension?.some((e) => e.url === AMENDABLE_BY_EXTENSION)).toBe(false);
      const clash = await send([nhs(known.nhsNumber), { name: 'teamId', valueString: world.team }], system, {
        'x-team-id': 'another-team',
      });
      expect(clash.status).toBe(400);
      expect(clash.body.issue[0].diagnostics).toMatch(/teamId and the x-team-id header/);
    });

    it("a system client reaches only its own team's caseload, and only teams its token names", async () => {
      const outside = await send([target({ reference: `Patient/${world.other}` })], system);
      expect(outside.status).toBe(200);
      expect(requestsOf(outside.body)).toEqual([]);
      expect(issuesOf(outside.body)[0]).toMatchObject({ code: 'not-found' });
      const notItsTeam = await send(
        [nhs(known.nhsNumber), { name: 'teamId', valueString: 'someone-elses-team' }],
        system,
      );
      expect(requestsOf(notItsTeam.body)).toEqual([]);
      expect(issuesOf(notItsTeam.body)).toHaveLength(1);
    });

    it('a team (Organization) as the target asks everyone active on its caseload, deceased people excepted', async () => {
      const organizationId = uniqueId('org-team');
      await world.store.update<Organization & { id: string }>({
        resourceType: 'Organization',
        id: organizationId,
        identifier: [{ system: TEAM_SYSTEM, value: world.team }],
        name: 'Test community team',
      });
      const deceased = uniqueId('pt-deceased');
      await world.store.update<Patient & { id: string }>({
        resourceType: 'Patient',
        id: deceased,
        deceasedBoolean: true,
      });
      await world.store.update<CareTeam & { id: string }>({
        resourceType: 'CareTeam',
        id: uniqueId('ct'),
        identifier: [{ system: TEAM_SYSTEM, value: world.team }],
        status: 'active',
        subject: { reference: `Patient/${deceased}` },
      });
      const res = await send([target({ reference: `Organization/${organizationId}` })], system);
      expect(res.status).toBe(200);
      expect((await created(res.body)).map((r) => r.subject?.reference).sort()).toEqual(
        [`Patient/${known.id}`, `Patient/${world.own}`].sort(),
      );
      // By the team's identifier, the same people.
      const byIdentifier = await send(
        [target({ type: 'Organization', identifier: { system: TEAM_SYSTEM, value: world.team } })],
        system,
      );
      expect(requestsOf(byIdentifier.body).sort()).toEqual(requestsOf(res.body).sort());

      // One team alone, a team that exists, and a team the caller may send for.
      const mixed = await send([target({ reference: `Organization/${organizationId}` }), nhs(known.nhsNumber)], system);
      expect(mixed.status).toBe(400);
      expect(mixed.body.issue[0]).toMatchObject({
        diagnostics: expect.stringMatching(/only target/),
        expression: ['Parameters.parameter[0]'],
      });
      const unknown = await send([target({ reference: `Organization/${uniqueId('no-org')}` })], system);
      expect(unknown.status).toBe(422);
      expect(unknown.body.issue[0].diagnostics).toMatch(/not a team known to this service/);
      const staffNotOnTeam = await send([target({ reference: `Organization/${organizationId}` })]);
      expect(staffNotOnTeam.status).toBe(403);
    });

    it('names the parameter whose value is wrong', async () => {
      const cases: [object, RegExp][] = [
        [
          code('notificationFlag', 'YES'),
          /notificationFlag must be one of EMAIL_NOTIFICATION_ENABLED, EMAIL_NOTIFICATION_DISABLED/,
        ],
        [{ name: 'notificationFlag', valueString: 'true' }, /notificationFlag must have valueCode or valueBoolean/],
        [code('amendableBy', 'everyone'), /amendableBy must be one of patient, practitioner/],
        [{ name: 'teamId', valueInteger: 7 }, /teamId must have valueString/],
        [{ name: 'teamId', valueString: 'not a code!' }, /teamId must be a team code/],
      ];
      for (const [parameter, message] of cases) {
        const res = await send([target({ reference: `Patient/${world.own}` }), parameter]);
        expect(res.status).toBe(400);
        expect(res.body.issue[0]).toMatchObject({
          diagnostics: expect.stringMatching(message),
          expression: ['Parameters.parameter[1]'],
        });
      }
      const twice = await send([
        target({ reference: `Patient/${world.own}` }),
        code('amendableBy', 'patient'),
        code('amendableBy', 'patient'),
      ]);
      expect(twice.status).toBe(400);
      expect(twice.body.issue[0].diagnostics).toMatch(/amendableBy names the same code twice/);
      // The boolean this service documented first is still read.
      expect(
        (await send([target({ reference: `Patient/${world.own}` }), { name: 'notificationFlag', valueBoolean: false }]))
          .status,
      ).toBe(200);
    });
  });

  it('answers 404 for an unknown questionnaire', async () => {
    const res = await request(world.app)
      .post('/fhir/Questionnaire/no-such-q/$send-questionnaire-request')
      .set('Authorization', `Bearer ${staff}`)
      .send({ resourceType: 'Parameters', parameter: [target({ reference: `Patient/${world.own}` })] });
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});
