import type { Goal } from 'fhir/r4.js';
import { ConfigFileError } from '../../src/config/configFileError.js';
import { parseDestinations } from '../../src/config/destinations.js';
import { SYSTEMS } from '../../src/fhir/common.js';
import * as planDocument from '../../src/fhir/planDocument.js';
import { backoffDelay } from '../../src/publish/backoff.js';
import { outboundCopy, PUBLISHED_SYSTEM } from '../../src/publish/outbound.js';
import {
  cursorFromFhir,
  cursorToFhir,
  deadLetterFromFhir,
  deadLetterToFhir,
  NO_COUNTS,
  type CursorState,
  type DeadLetter,
} from '../../src/publish/records.js';
import { fixtureBudgets, fixtureGoals, fixturePlans } from '../support/planFixtures.js';

const good = {
  destinations: [
    {
      id: 'patient-knows-best',
      kind: 'phr',
      fhirBaseUrl: 'https://customer.pkb.example/fhir/r4',
      auth: { issuer: 'https://auth.pkb.example/realms/pkb', clientId: 'phb', clientSecretEnv: 'PKB_SECRET' },
      headers: { 'x-team-id': '42' },
      accepts: ['DocumentReference', 'QuestionnaireResponse', 'Observation'],
      removes: ['DocumentReference'],
    },
  ],
};
const options = { secret: (name: string) => (name === 'PKB_SECRET' ? 's3cret' : undefined), production: true };

function problems(document: unknown): string[] {
  try {
    parseDestinations(document, 'destinations.json', options);
  } catch (e) {
    if (e instanceof ConfigFileError) return e.problems.map((p) => `${p.pointer}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('destinations file', () => {
  it('fills in defaults and resolves the secret from the environment variable it names', () => {
    const [d] = parseDestinations(good, 'destinations.json', options);
    expect(d).toMatchObject({
      id: 'patient-knows-best',
      auth: { clientSecret: 's3cret', method: 'client_secret_post' },
      removes: ['DocumentReference'],
      retry: { maxAttempts: 10, baseDelayMs: 1000, maxDelayMs: 300000 },
      timeoutMs: 10000,
      pageSize: 100,
    });
  });

  it('names the bad field', () => {
    const bad = (patch: Record<string, unknown>): unknown => ({
      destinations: [{ ...good.destinations[0], ...patch }],
    });
    expect(problems(bad({ kind: 'email' }))).toEqual(['/destinations/0/kind: must be one of phr, gp']);
    expect(problems(bad({ accepts: ['Patient'] }))).toEqual([
      expect.stringMatching(/^\/destinations\/0\/accepts\/0: must be one of CarePlan/),
    ]);
    expect(problems(bad({ fhirBaseUrl: 'http://pkb.example/fhir' }))).toEqual([
      '/destinations/0/fhirBaseUrl: must use https (plain http only on loopback outside production)',
    ]);
    expect(problems(bad({ auth: { issuer: 'https://a.example', clientId: 'x', clientSecretEnv: 'MISSING' } }))).toEqual(
      ['/destinations/0/auth/clientSecretEnv: the environment variable MISSING is not set'],
    );
    expect(problems(bad({ auth: { clientId: 'x', clientSecretEnv: 'PKB_SECRET' } }))).toContainEqual(
      "/destinations/0/auth/issuer: must have required property 'issuer'",
    );
    expect(problems(bad({ headers: { Authorization: 'x' } }))).toContainEqual(
      expect.stringMatching(/^\/destinations\/0\/headers/),
    );
    expect(problems(bad({ removes: ['Goal'] }))).toEqual(['/destinations/0/removes/0: Goal is not in accepts']);
    expect(problems(bad({ accepts: ['Goal'], removes: [] }))).toEqual([
      '/destinations/0/accepts: a phr destination must accept DocumentReference (the readable plan)',
    ]);
    expect(
      problems(
        bad({
          kind: 'gp',
          removes: [],
          accepts: ['DocumentReference'],
          gp: { odsCode: 'Y00001', deliver: 'notification' },
        }),
      ),
    ).toEqual(['/destinations/0/gp/documentBaseUrl: a notification links to the document: give our public FHIR base']);
    expect(problems({ destinations: [good.destinations[0], good.destinations[0]] })).toEqual([
      '/destinations/1/id: duplicates destination patient-knows-best',
    ]);
    expect(problems({ destinations: [{ ...good.destinations[0], retry: { maxAttempts: '3' } }] })).toEqual([
      '/destinations/0/retry/maxAttempts: must be integer',
    ]);
  });
});

describe('backoff', () => {
  it('doubles from the base up to the ceiling, half of it random', () => {
    expect([1, 2, 3, 4, 10].map((a) => backoffDelay(a, 1000, 5000, () => 0))).toEqual([500, 1000, 2000, 2500, 2500]);
    expect([1, 2, 3, 4, 10].map((a) => backoffDelay(a, 1000, 5000, () => 1))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
});

describe('outbound shaping', () => {
  const person = { patientId: 'p1', nhsNumber: '9990079196' };

  it('drops id and version, puts our identifier first and makes references logical', () => {
    const source: Goal = {
      resourceType: 'Goal',
      id: 'g1',
      meta: { versionId: '3', lastUpdated: '2026-01-01T00:00:00Z', profile: ['https://p/x'] },
      identifier: [{ system: 'https://ehr.example/goals', value: 'E1' }],
      lifecycleStatus: 'active',
      description: { text: 'I want to...' },
      subject: { reference: 'Patient/p1' },
      addresses: [{ reference: 'Condition/c1/_history/2', display: 'A condition' }],
      extension: [{ url: 'https://x', valueReference: { reference: 'EpisodeOfCare/e1' } }],
    };
    expect(outboundCopy(source, person)).toEqual({
      resourceType: 'Goal',
      meta: { profile: ['https://p/x'] },
      identifier: [
        { system: PUBLISHED_SYSTEM, value: 'Goal/g1' },
        { system: 'https://ehr.example/goals', value: 'E1' },
      ],
      lifecycleStatus: 'active',
      description: { text: 'I want to...' },
      subject: { type: 'Patient', identifier: { system: SYSTEMS.nhsNumber, value: '9990079196' } },
      addresses: [
        { type: 'Condition', identifier: { system: PUBLISHED_SYSTEM, value: 'Condition/c1' }, display: 'A condition' },
      ],
      extension: [
        {
          url: 'https://x',
          valueReference: {
            type: 'EpisodeOfCare',
            identifier: { system: PUBLISHED_SYSTEM, value: 'EpisodeOfCare/e1' },
          },
        },
      ],
    });
  });

  it('renders the plan as escaped HTML with goals, items and budget, the same every time', () => {
    const plan = {
      ...(fixturePlans[0] as (typeof fixturePlans)[number]),
      aboutMe: 'Being <outdoors> & seeing friends.',
    };
    const doc = planDocument.toFhir(
      plan,
      fixtureGoals,
      fixtureBudgets[1],
      { type: 'Patient' },
      { system: PUBLISHED_SYSTEM, value: 'CarePlan/fx-plan/document' },
    );
    const html = Buffer.from(doc.content[0]?.attachment.data ?? '', 'base64').toString('utf8');
    expect(html).toContain('Being &lt;outdoors&gt; &amp; seeing friends.');
    expect(html).toContain('I want to walk to the shops on my own.');
    expect(html).toContain('Personal assistant, 10 hours a week');
    expect(html).toContain('<h2>My budget</h2>');
    expect(doc).toMatchObject({
      status: 'current',
      docStatus: 'final',
      content: [{ attachment: { contentType: 'text/html; charset=utf-8' } }],
    });
    expect(
      planDocument.toFhir(plan, fixtureGoals, fixtureBudgets[1], { type: 'Patient' }, { system: 's', value: 'v' })
        .content,
    ).toEqual(doc.content);
  });
  it("lists a budget's calculation lines, each on-cost on a line of its own, in the plan document", () => {
    const pa = fixtureBudgets.find((b) => b.calculationLines?.length);
    const plan = fixturePlans[0];
    if (!pa || !plan) throw new Error('fixtures missing');
    const html = planDocument.planHtml(plan, fixtureGoals, pa);
    expect(html).toContain('<li>Personal assistant pay (20 hours a week for 52 weeks): £20,000.00</li>');
    expect(html).toContain('<li>Employer&#39;s National Insurance: £1,500.00</li>');
    expect(html).toContain('<li>Contingency (Cover for holiday and sickness): £1,000.00</li>');
    expect(planDocument.planHtml(plan, fixtureGoals, fixtureBudgets[1])).not.toContain('<li>Contingency');
  });
});

describe('publisher records', () => {
  it('a cursor reads back as written', () => {
    const state: CursorState = {
      destination: 'pkb',
      since: '2026-01-01T10:00:00.123+00:00',
      seen: ['Goal/a/_history/1', 'Goal/b/_history/2'],
      deletes: ['Goal/c/_history/3'],
      head: 'CarePlan/x/_history/4',
      attempts: 2,
      retryAt: '2026-01-01T10:00:05.000Z',
      unavailableAttempts: 0,
      lastError: 'PUT Goal answered 500',
      pendingSince: '2026-01-01T10:00:00.123+00:00',
      checkedAt: '2026-01-01T10:00:01.000Z',
      lease: { owner: 'host-1', until: '2026-01-01T10:00:31.000Z' },
      counts: { ...NO_COUNTS, delivered: 5, writes: 9 },
    };
    expect(cursorFromFhir(cursorToFhir(state))).toEqual(state);
  });

  it("a dead letter keeps the destination's OperationOutcome", () => {
    const letter: DeadLetter = {
      id: 'phb-dl-1',
      destination: 'pkb',
      change: 'Goal/a/_history/1',
      reason: 'rejected',
      status: 'open',
      attempts: 1,
      httpStatus: 400,
      message: 'PUT Goal answered 400',
      outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'no' }] },
      created: '2026-01-01T10:00:00.000Z',
      updated: '2026-01-01T10:00:00.000Z',
    };
    const basic = deadLetterToFhir(letter);
    expect(basic.extension).toContainEqual(expect.objectContaining({ valueReference: { reference: '#outcome' } }));
    expect(deadLetterFromFhir(basic)).toEqual(letter);
  });
});
