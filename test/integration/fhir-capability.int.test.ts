import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type {
  Bundle,
  CapabilityStatement,
  CapabilityStatementRestResource,
  FhirResource,
  OperationDefinition,
  OperationOutcome,
} from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';
import { exampleId } from '../../src/api/route.js';
import { createAuthWorld, type AuthWorld } from '../support/authWorld.js';
import { seedPhb } from '../support/phbRecords.js';
import { uniqueId } from '../support/hapi.js';

/**
 * What /fhir/metadata lists is served, and what it does not list is a clear 4xx
 * OperationOutcome naming what was refused: walked from the CapabilityStatement itself, with
 * real tokens against the real HAPI. No answer carries HAPI's own text (HAPI-nnnn), and the
 * answers are valid R4 by HAPI's $validate.
 */
describe('/fhir serves what its CapabilityStatement lists, and refuses the rest', () => {
  let world: AuthWorld;
  let tokens: string[];
  let staff: string;
  let holder: string;
  let ehr: string;
  let statement: CapabilityStatement;
  /** One answer of each kind, for the $validate check at the end. */
  const answers = new Map<string, FhirResource>();

  beforeAll(async () => {
    world = await createAuthWorld();
    await seedPhb(world.store, world.own);
    staff = await world.token('care-coordinator');
    // Whoever the listing is for: the team, the person, the GP system, the secondary care EHR.
    [holder, ehr] = await Promise.all([world.token('budget-holder'), world.token('ehr-system')]);
    tokens = [staff, holder, await world.token('gp-system'), ehr];
    statement = (await request(world.app).get('/fhir/metadata')).body as CapabilityStatement;
  });
  afterAll(async () => world.close());

  /** Notes the answer for the $validate check, and that it holds no HAPI text whatever its status. */
  function seen(kind: string, res: request.Response): request.Response {
    expect(res.text).not.toMatch(/HAPI-\d+/);
    const body = res.body as FhirResource | undefined;
    if (body?.resourceType) {
      const key = `${res.status} ${body.resourceType} ${kind}`;
      if (!answers.has(key)) answers.set(key, body);
    }
    return res;
  }

  const get = async (url: string, token = staff, kind = 'get'): Promise<request.Response> =>
    seen(kind, await request(world.app).get(url).set('Authorization', `Bearer ${token}`));

  /** The first answer among the callers the listing is for that `done` takes; else the last answer. */
  async function firstGet(
    url: string,
    kind: string,
    done: (res: request.Response) => boolean,
  ): Promise<request.Response> {
    let last: request.Response | undefined;
    for (const token of tokens) {
      last = await get(url, token, kind);
      if (done(last)) return last;
    }
    if (!last) throw new Error('no tokens');
    return last;
  }
  /** The first 2xx among the callers. */
  const servedGet = (url: string, kind: string): Promise<request.Response> =>
    firstGet(url, kind, (res) => res.status < 300);
  /** The first answer to a caller allowed to make the request. */
  const permittedGet = (url: string, kind: string): Promise<request.Response> =>
    firstGet(url, kind, (res) => res.status !== 401 && res.status !== 403);

  const resources = (): CapabilityStatementRestResource[] => statement.rest?.[0]?.resource ?? [];
  const listed = (type: string): CapabilityStatementRestResource => {
    const r = resources().find((x) => x.type === type);
    if (!r) throw new Error(`${type} is not listed`);
    return r;
  };

  /** The id of the seeded record of a type (the route table's example ids). */
  const idOf = (type: string): string =>
    type === 'Patient' ? world.own : type === 'Questionnaire' ? 'phb-impact' : exampleId(type, world.own);
  /** The query that puts a search in the seeded patient's compartment (definitions need none). */
  const compartment = (r: CapabilityStatementRestResource): string =>
    r.searchParam?.some((p) => p.name === 'patient') ? `patient=Patient/${world.own}` : `_id=${idOf(r.type)}`;

  /** A value of the right form for a listed parameter. */
  function sample(type: string, name: string, paramType: string, documentation?: string): string {
    if (name === '_sort') return (documentation ?? '').split(': ')[1]?.split(', ')[0] ?? '_id';
    if (name === '_count') return '5';
    if (name === '_offset') return '0';
    if (name === 'patient' || name === 'subject' || name === 'beneficiary') return `Patient/${world.own}`;
    switch (paramType) {
      case 'date':
        return 'ge2000-01-01';
      case 'reference':
        return `${type}/${uniqueId('none')}`;
      case 'uri':
        return 'https://phb.fhir.example.org/Questionnaire/phb-impact';
      case 'number':
        return '1';
      default:
        return 'x';
    }
  }

  it('lists R4 JSON only, and every resource it lists has something served', () => {
    expect(statement).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1' });
    expect(statement.format).toEqual(['application/fhir+json', 'json']);
    expect(resources().length).toBeGreaterThan(5);
  });

  it('serves every listed read and search-type', async () => {
    for (const r of resources()) {
      for (const { code } of r.interaction ?? []) {
        if (code === 'read') {
          const res = await servedGet(`/fhir/${r.type}/${idOf(r.type)}`, 'read');
          expect([r.type, res.status]).toEqual([r.type, 200]);
          expect(res.body).toMatchObject({ resourceType: r.type, id: idOf(r.type) });
        }
        if (code === 'search-type') {
          const res = await servedGet(`/fhir/${r.type}?${compartment(r)}`, 'search');
          expect([r.type, res.status]).toEqual([r.type, 200]);
          expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
          expect((res.body as Bundle).entry?.length).toBeGreaterThan(0);
        }
      }
    }
  });

  it('serves every listed search parameter, each _sort key and each include', async () => {
    for (const r of resources()) {
      const base = `/fhir/${r.type}?${compartment(r)}`;
      for (const p of r.searchParam ?? []) {
        const res = await servedGet(
          `${base}&${p.name}=${encodeURIComponent(sample(r.type, p.name, p.type, p.documentation))}`,
          'param',
        );
        expect([r.type, p.name, res.status]).toEqual([r.type, p.name, 200]);
        if (p.name === '_sort') {
          const keys = (p.documentation ?? '').split(': ')[1]?.split(', ') ?? [];
          expect(keys.length).toBeGreaterThan(0);
          for (const key of keys) {
            const sorted = await servedGet(`${base}&_sort=-${key}`, 'sort');
            expect([r.type, key, sorted.status]).toEqual([r.type, key, 200]);
          }
        }
      }
      for (const [key, values] of [
        ['_include', r.searchInclude ?? []],
        ['_revinclude', r.searchRevInclude ?? []],
      ] as const) {
        for (const v of values) {
          const res = await servedGet(`${base}&${key}=${v}`, 'include');
          expect([r.type, v, res.status]).toEqual([r.type, v, 200]);
        }
      }
    }
  });

  it('serves every listed operation, write and system interaction (a bad request is a 4xx of the route, not 404/405)', async () => {
    const definitions = new Map<string, OperationDefinition>(
      ['phb-summary', 'send-questionnaire-request', 'discharge-document'].map((name) => {
        const def = JSON.parse(
          readFileSync(path.join(repoRoot, 'profiles', 'operations', `${name}.json`), 'utf8'),
        ) as OperationDefinition;
        return [def.url ?? name, def];
      }),
    );
    let operations = 0;
    for (const r of resources()) {
      for (const op of r.operation ?? []) {
        operations++;
        const def = definitions.get(op.definition);
        // Every listed operation has its OperationDefinition in profiles/, for this type, on an instance.
        expect([op.name, def?.code, def?.resource]).toEqual([op.name, op.name, [r.type]]);
        expect(def?.instance).toBe(true);
        const url = `/fhir/${r.type}/${idOf(r.type)}/$${op.name}`;
        if (def?.affectsState) {
          const res = seen(
            'operation',
            await request(world.app)
              .post(url)
              .set('Authorization', `Bearer ${staff}`)
              .send({ resourceType: 'Parameters' }),
          );
          expect([op.name, res.status]).toEqual([op.name, 400]);
          expect(res.body.resourceType).toBe('OperationOutcome');
        } else {
          const res = await servedGet(url, 'operation');
          expect([op.name, res.status]).toEqual([op.name, 200]);
          expect(res.body).toMatchObject({ resourceType: 'Bundle' });
        }
      }
      for (const { code } of r.interaction ?? []) {
        if (code !== 'create' && code !== 'update') continue;
        const call = request(world.app)[code === 'create' ? 'post' : 'put'](
          code === 'create' ? `/fhir/${r.type}` : `/fhir/${r.type}/${idOf(r.type)}`,
        );
        const res = seen(code, await call.set('Authorization', `Bearer ${holder}`).send({ resourceType: r.type }));
        expect([r.type, code, res.status]).toEqual([r.type, code, 400]);
        expect(res.body.resourceType).toBe('OperationOutcome');
      }
    }
    expect(operations).toBe(definitions.size);
    for (const { code } of statement.rest?.[0]?.interaction ?? []) {
      expect(code).toBe('transaction');
      const res = seen(
        'transaction',
        await request(world.app)
          .post('/fhir')
          .set('Authorization', `Bearer ${ehr}`)
          .send({ resourceType: 'Bundle', type: 'transaction' }),
      );
      // An empty transaction is a request the route read and refused (422: it holds no goals), not an unknown path.
      expect(res.status).toBe(422);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
  });

  const outcomeText = (res: request.Response): string => res.text.slice(0, 300);

  /** 4xx with an OperationOutcome whose first issue names `what`. */
  function refused(res: request.Response, status: number, what: string | RegExp): void {
    expect([outcomeText(res), res.status]).toEqual([outcomeText(res), status]);
    const outcome = res.body as OperationOutcome;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0]?.diagnostics).toMatch(what);
  }

  it('refuses what is not listed: a parameter, a modifier, _has, _filter, a chain, an include', async () => {
    for (const r of resources().filter((x) => x.interaction?.some((i) => i.code === 'search-type'))) {
      const base = `/fhir/${r.type}?${compartment(r)}`;
      const cases: [query: string, named: string, expression: string][] = [
        ['not-a-param=1', 'not-a-param', 'not-a-param'],
        ['_lastUpdated:missing=true', '_lastUpdated:missing', '_lastUpdated:missing'],
        ['_has:Provenance:target:agent=x', '_has', '_has:Provenance:target:agent'],
        ['_filter=status eq active', '_filter', '_filter'],
        ['_elements=id', '_elements', '_elements'],
        ['patient.name=x', 'patient.name', 'patient.name'],
        ['_include=Provenance:target', 'Provenance:target', '_include'],
        ['_sort=not-a-key', 'not-a-key', '_sort'],
        ['_lastUpdated=notadate', '_lastUpdated=notadate', '_lastUpdated'],
      ];
      for (const [query, named, expression] of cases) {
        const res = await get(`${base}&${query}`, staff, 'refused-param');
        refused(res, 400, named);
        expect([query, res.body.issue[0].expression]).toEqual([query, [expression]]);
      }
    }
  });

  it('refuses a parameter on a read: it takes none but _format', async () => {
    for (const r of resources().filter((x) => x.interaction?.some((i) => i.code === 'read'))) {
      for (const query of ['_summary=true', '_elements=id', 'foo=1']) {
        const name = query.split('=')[0] ?? '';
        const res = await permittedGet(`/fhir/${r.type}/${idOf(r.type)}?${query}`, 'refused-read');
        refused(res, 400, `A read takes no parameter ${name} here (only _format)`);
        expect(res.body.issue[0].expression).toEqual([name]);
      }
      expect((await servedGet(`/fhir/${r.type}/${idOf(r.type)}?_format=json`, 'read')).status).toBe(200);
    }
  });

  it('refuses an interaction or type it does not list with a 4xx OperationOutcome', async () => {
    const carePlan = `/fhir/CarePlan/${idOf('CarePlan')}`;
    for (const res of [
      await request(world.app).delete(carePlan).set('Authorization', `Bearer ${staff}`),
      await request(world.app).patch(carePlan).set('Authorization', `Bearer ${staff}`).send([]),
      await request(world.app).put(carePlan).set('Authorization', `Bearer ${staff}`).send({ resourceType: 'CarePlan' }),
      await get(`${carePlan}/_history`),
      await get('/fhir/Medication?_count=1'),
      await get(`/fhir/Consent/${world.consentIds.own}`),
    ]) {
      seen('unlisted', res);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].diagnostics).toMatch(/is not supported by this server/);
    }
    expect(listed('CarePlan').interaction?.map((i) => i.code)).toEqual(['read', 'search-type']);
  });

  it('says in its own words what was not found or not understood: no HAPI text, the id or value named', async () => {
    const missing = uniqueId('no-such-questionnaire');
    refused(await get(`/fhir/Questionnaire/${missing}`), 404, new RegExp(`^Questionnaire/${missing} is not known$`));
    refused(
      await get(`/fhir/Observation?patient=Patient/${world.own}&_lastUpdated=notadate`),
      400,
      /^_lastUpdated=notadate is not a date/,
    );
    // A value of the right shape that HAPI still cannot use: its refusal, in our words, naming what was sent.
    refused(
      await get(`/fhir/Observation?patient=Patient/${world.own}&date=ge2026-13-45`),
      400,
      /^The Observation search with date=ge2026-13-45&patient=Patient\/[^ ]+ is not a request the FHIR store can run$/,
    );
    // The staff API face: the same store refusal as problem+json, without HAPI's text.
    const api = await request(world.app)
      .get(`/api/v1/budget-holders/${world.own}/journeys/${uniqueId('no-such-journey')}`)
      .set('Authorization', `Bearer ${staff}`);
    expect(api.status).toBe(404);
    expect(api.type).toBe('application/problem+json');
    expect(api.text).not.toMatch(/HAPI-\d+/);
  });

  it('runs the Consent search through the same checks as every other search', async () => {
    const base = `/fhir/Consent?patient=Patient/${world.own}`;
    const ok = await get(base, holder, 'consent');
    expect(ok.status).toBe(200);
    expect((ok.body as Bundle).entry?.map((e) => e.resource?.id)).toContain(world.consentIds.own);
    const cases: [query: string, named: string][] = [
      ['unknown=1', 'unknown'],
      ['_has:Provenance:target:agent=x', '_has'],
      ['_filter=status eq active', '_filter'],
      ['patient:missing=false', 'patient:missing'],
      ['status=active', 'status'],
    ];
    for (const [query, name] of cases) {
      const res = await get(`${base}&${query}`, holder, 'refused-consent');
      refused(res, 400, name);
    }
    expect(listed('Consent').searchParam?.map((p) => p.name)).toContain('patient');
  });

  it('refuses a parameter $phb-summary does not declare, and gives its computed Parameters a urn:uuid, not an empty id', async () => {
    const url = `/fhir/Patient/${world.own}/$phb-summary`;
    refused(
      await get(`${url}?since=2026-01-01`, holder),
      400,
      /\$phb-summary has no parameter since \(it takes none\)/,
    );
    const summary = await get(url, holder, 'summary');
    expect(summary.status).toBe(200);
    const [first, ...rest] = (summary.body as Bundle).entry ?? [];
    expect(first?.resource?.resourceType).toBe('Parameters');
    // It is no record of the store: an identity of its own, not a URL that cannot be read (.../Parameters/).
    expect(first?.fullUrl).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    for (const e of rest) expect(e.fullUrl).toMatch(new RegExp(`/fhir/${e.resource?.resourceType}/${e.resource?.id}$`));
  });

  it('answers 406 to a request for XML or another FHIR version, and 415 to such a body, naming what it serves', async () => {
    const search = `/fhir/CarePlan?patient=Patient/${world.own}`;
    const served = /application\/fhir\+json; fhirVersion=4\.0/;
    for (const accept of [
      'application/fhir+xml',
      'application/xml',
      'application/fhir+json; fhirVersion=3.0',
      'text/turtle',
    ]) {
      const res = seen(
        '406',
        await request(world.app).get(search).set('Authorization', `Bearer ${staff}`).set('Accept', accept),
      );
      refused(res, 406, served);
      expect(res.body.issue[0].code).toBe('not-supported');
    }
    refused(await get(`${search}&_format=xml`), 406, /_format=xml is not served/);
    refused(await get('/fhir/metadata?_format=application/fhir%2Bxml'), 406, served);
    // What clients commonly send is served.
    for (const accept of [
      'application/fhir+json',
      'application/json',
      '*/*',
      'application/fhir+xml;q=0.9, application/fhir+json; fhirVersion=4.0',
    ]) {
      const res = await request(world.app).get(search).set('Authorization', `Bearer ${staff}`).set('Accept', accept);
      expect([accept, res.status]).toEqual([accept, 200]);
    }
    expect((await get(`${search}&_format=json`)).status).toBe(200);
    for (const type of ['application/fhir+xml', 'application/fhir+json; fhirVersion=3.0']) {
      const res = seen(
        '415',
        await request(world.app)
          .put(`/fhir/Goal/${idOf('Goal')}`)
          .set('Authorization', `Bearer ${holder}`)
          .set('Content-Type', type)
          .send(
            type.includes('xml') ? '<Goal xmlns="http://hl7.org/fhir"/>' : JSON.stringify({ resourceType: 'Goal' }),
          ),
      );
      refused(res, 415, served);
    }
  });

  it('answers metadata for mode full and normative, and refuses terminology naming the mode', async () => {
    for (const mode of ['full', 'normative']) {
      const res = await get(`/fhir/metadata?mode=${mode}`);
      expect(res.status).toBe(200);
      expect(res.body.resourceType).toBe('CapabilityStatement');
    }
    const terminology = await get('/fhir/metadata?mode=terminology', staff, 'metadata-mode');
    refused(terminology, 400, /^mode=terminology is not served/);
    expect(terminology.body.issue[0]).toMatchObject({ code: 'not-supported', expression: ['mode'] });
    refused(await get('/fhir/metadata?mode=brief'), 400, /^mode=brief is not a mode/);
    refused(await get('/fhir/metadata?foo=1'), 400, /metadata has no parameter foo/);
  });

  it('gave only answers that are valid R4 (HAPI $validate, no errors)', async () => {
    expect(answers.size).toBeGreaterThan(10);
    for (const [kind, resource] of answers) {
      const outcome = await world.store.validate(resource);
      const errors = (outcome.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal');
      expect([kind, errors.map((e) => `${e.expression?.[0] ?? ''}: ${e.diagnostics ?? ''}`)]).toEqual([kind, []]);
    }
  });
});
