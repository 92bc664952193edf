import request from 'supertest';
import type { Bundle, Observation } from 'fhir/r4.js';
import type { Express } from 'express';
import { createApp } from '../../src/api/app.js';
import { loadPolicy } from '../../src/config/policy.js';
import { readConformanceFiles } from '../../src/conformance/files.js';
import { loadConformance } from '../../src/conformance/loader.js';
import { repoRoot } from '../../src/config/config.js';
import type { Role } from '../../src/auth/caller.js';
import { createAuthWorld, type AuthWorld } from '../support/authWorld.js';
import {
  journeyPeople,
  personToken,
  postAs,
  storeSubmitter,
  submitterToken,
  type JourneyPeople,
} from '../support/journeyDriver.js';
import { loadScenarios, type Scenario } from '../support/scenarios.js';
import path from 'node:path';
import { freshNhsNumber } from '../support/hapi.js';

/**
 * Every journey in test/scenarios, end to end through /api/v1 with real tokens and the real HAPI:
 * referral, eligibility, needs, budget, plan, sign-off, agreement, payment, spend, reviews,
 * audit and closure, then each `expect` block checked against what the API reports.
 */
const scenarios = loadScenarios();
const T = (day: number, hour = 10): string =>
  `2026-01-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`;

interface Run {
  holderId: string;
  journeyId: string;
  journeyPath: string;
  requests: Map<
    string,
    { id: string; status: string; requiredRoles: string[]; refusalReason?: string; refusalAlternatives?: string }
  >;
  agreementStatus?: number;
  agreementProblem?: unknown;
  paid: number;
  recovered?: boolean;
  phrStatus?: number;
  summary?: Record<string, unknown>;
  audit?: Record<string, unknown>;
  discharge?: { document: Bundle; again: Bundle };
  /** Each review recorded with impact answers: the sum of its answers, and the score Observations derived from it. */
  reviewScores: { expected: number; stored: (number | undefined)[] }[];
}

describe('scenario journeys through /api/v1', () => {
  let world: AuthWorld;
  let people: JourneyPeople;
  let submitter: string;
  const apps = new Map<string, Express>();
  const tokens = new Map<Role, string>();
  const runs = new Map<string, Run>();

  beforeAll(async () => {
    people = journeyPeople(scenarios.length);
    world = await createAuthWorld({ extraUsers: people.users });
    await storeSubmitter(world.store, people);
    // The review questionnaire (and its scoring rule) must be in HAPI for the impact trend.
    await loadConformance(world.store, await readConformanceFiles(path.join(repoRoot, 'profiles')));
    submitter = await submitterToken(world, people);
    for (const policy of ['city-and-hackney', 'merseyside']) {
      apps.set(
        policy,
        createApp({
          store: world.store,
          readiness: { conformanceLoaded: true },
          retryAfterSeconds: 5,
          auth: world.auth,
          policy: loadPolicy(policy),
        }),
      );
    }
  }, 120000);
  afterAll(async () => world.close());

  async function token(role: Role): Promise<string> {
    const known = tokens.get(role);
    if (known) return known;
    const fresh = await world.token(role);
    tokens.set(role, fresh);
    return fresh;
  }

  async function post(
    app: Express,
    role: Role | string,
    p: string,
    body: unknown,
    expected?: number,
  ): Promise<request.Response> {
    const bearer = role.startsWith('ey') ? role : await token(role as Role);
    const res = await postAs(app, bearer, p, body);
    if (expected !== undefined && res.status !== expected)
      throw new Error(`POST ${p}: ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  }

  async function run(s: Scenario, index: number): Promise<Run> {
    const app = apps.get(s.policy) as Express;
    const person = people.persons[index];
    if (!person) throw new Error('no person account');
    const referral = await post(
      app,
      submitter,
      '/referrals',
      {
        person: {
          nhsNumber: freshNhsNumber(),
          name: s.person.name,
          birthDate: s.person.birthDate,
          gpPracticeOds: world.gpOds,
          ...(s.person.ethnicity ? { ethnicity: s.person.ethnicity } : {}),
        },
        kind: s.phb.kind,
        cohort: s.phb.cohort,
        start: '2026-01-05',
        careTeam: [...Object.values(world.staffRoleIds), people.submitterRoleId],
      },
      201,
    );
    const holderId = referral.body.budgetHolderId as string;
    const journeyId = referral.body.id as string;
    const jp = `/budget-holders/${holderId}/journeys/${journeyId}`;
    const result: Run = { holderId, journeyId, journeyPath: jp, requests: new Map(), paid: 0, reviewScores: [] };

    await post(
      app,
      'care-coordinator',
      `${jp}/eligibility`,
      {
        eligible: true,
        decidedOn: '2026-01-06',
        ...(s.phb.rightToHave !== undefined ? { rightToHave: s.phb.rightToHave } : {}),
        ...(s.phb.cluster !== undefined ? { cluster: s.phb.cluster } : {}),
        ...(s.phb.fastTrack ? { fastTrack: s.phb.fastTrack } : {}),
      },
      200,
    );
    if (s.needs)
      await post(
        app,
        'care-coordinator',
        `${jp}/needs`,
        { whatMattersToMe: s.needs.whatMattersToMe, strengths: s.needs.strengths ?? [], completed: T(6, 14) },
        201,
      );
    const split = s.phb.split ?? { [s.phb.managementOption]: s.phb.indicativeBudget };
    const budget = await post(
      app,
      'care-coordinator',
      `${jp}/budget`,
      {
        indicative: s.phb.indicativeBudget,
        managementOption: s.phb.managementOption,
        split,
        start: '2026-01-07',
        ...(s.phb.calculation ? { calculation: s.phb.calculation } : {}),
        ...(s.phb.calculationLines ? { calculationLines: s.phb.calculationLines } : {}),
      },
      201,
    );
    expect(budget.body.calculationLines).toEqual(s.phb.calculationLines);

    // Items: one per request; an ongoing budget with no requests buys one package per part of the budget.
    const items = (s.requests ?? []).map((r) => ({
      id: r.key,
      description: r.item,
      category: r.category,
      cost: r.amount,
      goals: r.goals,
      ...(r.provider ? { provider: r.provider } : {}),
    }));
    if (items.length === 0) {
      for (const [option, amount] of Object.entries(split)) {
        items.push({
          id: `package-${option}`,
          description: `Support paid as ${option}`,
          category: option === 'direct-payment' ? 'personal-assistant' : 'therapy',
          cost: amount as number,
          goals: s.goals.map((g) => g.key),
          managementOption: option,
        } as never);
      }
    }
    const plan = await post(
      app,
      'care-coordinator',
      `${jp}/plan`,
      { goals: s.goals.map((g) => ({ key: g.key, text: g.text })), items, created: T(7) },
      201,
    );
    const goalIds = new Map<string, string>(s.goals.map((g, i) => [g.key, plan.body.goals[i].id as string]));

    for (const [i, r] of (s.requests ?? []).entries()) {
      const res = await post(app, submitter, `${jp}/spend-requests`, { itemId: r.key, submitted: T(8, 9 + i) }, 201);
      result.requests.set(r.key, res.body);
      if (res.body.status !== 'requested') continue;
      const signers = s.panel?.decisions.map((d) => d.role) ?? res.body.requiredRoles;
      let current = res.body;
      for (const [j, role] of (signers as Role[]).entries()) {
        const decision = await post(
          app,
          role,
          `${jp}/spend-requests/${current.id}/decisions`,
          {
            outcome: 'approve',
            rationale: `Meets the goal in the plan (${role})`,
            time: T(9 + j, 11),
          },
          201,
        );
        current = decision.body;
      }
      result.requests.set(r.key, current);
    }

    const agree = await post(app, 'care-coordinator', `${jp}/plan/agreement`, { agreedOn: '2026-01-12' });
    result.agreementStatus = agree.status;
    result.agreementProblem = agree.body;
    if (agree.status !== 200 && !s.expect.planOverBudgetRejected)
      throw new Error(`agreement ${agree.status} ${JSON.stringify(agree.body)}`);
    if (agree.status !== 200) {
      result.summary = (
        await request(app)
          .get(`/api/v1${jp}`)
          .set('Authorization', `Bearer ${await token('care-coordinator')}`)
      ).body;
      return result;
    }

    if (split['direct-payment'] !== undefined || split['managed-account'] !== undefined) {
      await post(
        app,
        await personToken(world, person, holderId),
        `${jp}/direct-payment-agreement`,
        {
          text: `I, ${s.person.name}, agree to spend my direct payment on the items in my plan and to keep receipts.`,
          signed: T(13),
        },
        201,
      );
    }
    for (const r of result.requests.values()) {
      if (r.status !== 'approved') continue;
      const pay = await post(
        app,
        'phb-advisor',
        `${jp}/payments`,
        { requestId: r.id, amount: (r as { amount?: number }).amount, paid: T(15) },
        201,
      );
      result.paid += pay.body.amount as number;
    }
    if (s.audit) {
      // An ongoing budget: the direct payment is paid as scheduled, and spend is reported each quarter.
      const dp = split['direct-payment'] ?? 0;
      const pay = await post(
        app,
        'phb-advisor',
        `${jp}/payments`,
        { amount: dp, managementOption: 'direct-payment', paid: T(15) },
        201,
      );
      result.paid += pay.body.amount as number;
      for (const [q, quarter] of s.audit.quarters.entries()) {
        await post(
          app,
          'phb-advisor',
          `${jp}/spend`,
          {
            itemId: 'package-direct-payment',
            amount: quarter.spent,
            category: 'personal-assistant',
            occurred: `2026-${String(3 * q + 3).padStart(2, '0')}-28`,
            evidence: `Quarterly return ${q + 1}: timesheets and bank statement`,
          },
          201,
        );
      }
    } else {
      for (const r of result.requests.values()) {
        if (r.status !== 'approved') continue;
        const item = items.find((i) => i.id === (r as { itemId?: string }).itemId);
        await post(
          app,
          'phb-advisor',
          `${jp}/spend`,
          {
            itemId: item?.id,
            amount: item?.cost,
            category: item?.category,
            occurred: '2026-01-20',
            evidence: 'Receipt',
          },
          201,
        );
      }
    }

    for (const [i, review] of (s.reviews ?? []).entries()) {
      const goalProgress = Object.fromEntries(
        Object.entries(review.goalProgress ?? {}).map(([k, v]) => [goalIds.get(k), v]),
      );
      const recorded = await post(
        app,
        'care-coordinator',
        `${jp}/reviews`,
        {
          point: review.when,
          completed: `2026-0${i + 2}-01T10:00:00Z`,
          ...(review.impact ? { impact: review.impact } : {}),
          goalProgress,
        },
        201,
      );
      const derived = await world.store.search<Observation>('Observation', {
        'derived-from': `QuestionnaireResponse/${recorded.body.id as string}`,
      });
      const stored = (derived.entry ?? []).map((e) => (e.resource as Observation).valueQuantity?.value);
      if (review.impact) {
        const expected = Object.values(review.impact as Record<string, number>).reduce((a, b) => a + b, 0);
        result.reviewScores.push({ expected, stored });
      } else if (stored.length) throw new Error(`a review without impact answers has scores ${JSON.stringify(stored)}`);
    }

    const audit = await request(app)
      .get(`/api/v1${jp}/financial-audit`)
      .set('Authorization', `Bearer ${await token('phb-advisor')}`);
    result.audit = audit.body;
    if (s.expect.underspendRecoveredAfterConversation) {
      const owed = (audit.body.outstandingByOption as Record<string, number>)['direct-payment'] ?? 0;
      const recovery = await post(
        app,
        'phb-advisor',
        `${jp}/underspend-recoveries`,
        { amount: owed, managementOption: 'direct-payment', agreed: '2026-12-20T10:00:00Z' },
        201,
      );
      const after = await request(app)
        .get(`/api/v1${jp}/financial-audit`)
        .set('Authorization', `Bearer ${await token('phb-advisor')}`);
      result.recovered =
        recovery.body.amount === -owed &&
        after.body.recovered === owed &&
        after.body.outstandingByOption['direct-payment'] === 0;
    }
    if (s.expect.dischargedToPrimaryCare || s.expect.discharge) {
      await post(
        app,
        'care-coordinator',
        `${jp}/closure`,
        { reason: 'discharged-to-primary-care', end: '2026-12-31' },
        200,
      );
      // The closed journey's document for the GP (made once, then the same on every call).
      const discharge = (): request.Test =>
        request(app)
          .post(`/fhir/EpisodeOfCare/${journeyId}/$discharge-document`)
          .set('Authorization', `Bearer ${tokens.get('care-coordinator') ?? ''}`);
      await token('care-coordinator');
      const made = await discharge().send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'clinicalSummary', valueString: 'Discharged from secondary mental health care to primary care.' },
          { name: 'contact', valueString: 'recovery team duty line' },
        ],
      });
      if (made.status !== 200) throw new Error(`discharge document ${made.status} ${JSON.stringify(made.body)}`);
      result.discharge = { document: made.body as Bundle, again: (await discharge().send({})).body as Bundle };
    }
    if (s.sharing) {
      await post(
        app,
        'care-coordinator',
        `/budget-holders/${holderId}/consents`,
        { recipient: 'test-phr-app', status: s.sharing.phrConsent ? 'active' : 'rejected' },
        201,
      );
      const phr = await personToken(world, person, holderId, 'phrApp');
      result.phrStatus = (
        await request(app).get(`/fhir/Patient/${holderId}`).set('Authorization', `Bearer ${phr}`)
      ).status;
    }
    const summary = await request(app)
      .get(`/api/v1${jp}`)
      .set('Authorization', `Bearer ${await token('care-coordinator')}`);
    if (summary.status !== 200) throw new Error(`summary ${summary.status} ${JSON.stringify(summary.body)}`);
    result.summary = summary.body;
    return result;
  }

  it.each(scenarios.map((s, i) => [s.id, s, i] as const))('%s meets its expect block', async (_id, s, index) => {
    const r = await run(s, index);
    runs.set(s.id, r);
    const e = s.expect;
    const summary = r.summary ?? {};
    const requests = (summary.requests ?? []) as {
      itemId: string;
      status: string;
      requiredRoles: string[];
      refusalReason?: string;
      refusalAlternatives?: string;
      turnaround: Record<string, unknown>;
    }[];
    const byKey = (key: string) => requests.find((q) => q.itemId === key);

    // Sign-off as the scenario says the policy must demand it.
    for (const req of s.requests ?? []) {
      const got = byKey(req.key);
      if (req.expectSignOff)
        expect({ key: req.key, roles: [...(got?.requiredRoles ?? [])].sort() }).toEqual({
          key: req.key,
          roles: [...req.expectSignOff].sort(),
        });
      if (req.expectRefused) {
        expect(got?.status).toBe('refused');
        expect(got?.refusalReason).toMatch(
          req.expectRefused.includes('national restriction') ? /national restriction/ : /item limit/,
        );
      }
    }
    if (e.planOverBudgetRejected) {
      expect(r.agreementStatus).toBe(422);
      expect(r.agreementProblem).toMatchObject({
        status: 422,
        errors: [
          expect.objectContaining({ code: 'business-rule', detail: expect.stringMatching(/more than the budget/) }),
        ],
      });
      return;
    }
    expect(r.agreementStatus).toBe(200);
    if (e.approved === true)
      expect(requests.filter((q) => q.status !== 'refused').every((q) => q.status === 'approved')).toBe(true);
    if (e.approvedRequests)
      expect(
        requests
          .filter((q) => q.status === 'approved')
          .map((q) => q.itemId)
          .sort(),
      ).toEqual([...(e.approvedRequests as string[])].sort());
    if (e.refusedRequests)
      expect(
        requests
          .filter((q) => q.status === 'refused')
          .map((q) => q.itemId)
          .sort(),
      ).toEqual([...(e.refusedRequests as string[])].sort());
    if (e.declineCarriesReasonAndAlternatives) {
      for (const q of requests.filter((x) => x.status === 'refused' || x.status === 'declined')) {
        expect(q.refusalReason).toEqual(expect.any(String));
        expect(q.refusalAlternatives).toEqual(expect.any(String));
      }
    }
    if (e.paidAmount !== undefined) expect(r.paid).toBe(e.paidAmount);
    if (e.underspend !== undefined) expect(r.audit?.underspend).toBe(e.underspend);
    if (e.annualSpend !== undefined) expect(r.audit?.spent).toBe(e.annualSpend);
    if (e.underspendOfDirectPayment !== undefined)
      expect((r.audit?.underspendByOption as Record<string, number>)['direct-payment']).toBe(
        e.underspendOfDirectPayment,
      );
    if (e.underspendRecoveredAfterConversation) expect(r.recovered).toBe(true);
    if (e.impactTrend) expect((summary.impact as { scores: { trend: string }[] }).scores[0]?.trend).toBe(e.impactTrend);
    // Staff-recorded reviews are scored like a PHR app's answers: one Observation per review with impact answers.
    for (const r0 of r.reviewScores) expect(r0.stored).toEqual([r0.expected]);
    if (r.discharge && r.reviewScores.length) {
      const scales = (r.discharge.document.entry ?? []).filter((x) => x.resource?.resourceType === 'Observation');
      // The document shows each score series once (its trend), so one for the review questionnaire's total.
      expect(scales).toHaveLength(1);
    }
    if (e.dischargedToPrimaryCare || (e.discharge as { toGp?: boolean } | undefined)?.toGp) {
      expect(summary.journey).toMatchObject({
        stage: 'closed',
        closureReason: 'discharged-to-primary-care',
        end: '2026-12-31',
      });
      const document = r.discharge?.document;
      expect(document).toMatchObject({ resourceType: 'Bundle', type: 'document' });
      expect(document?.entry?.[0]?.resource).toMatchObject({ resourceType: 'Composition', status: 'final' });
      expect(JSON.stringify(r.discharge?.again)).toBe(JSON.stringify(document));
      const carried =
        (e.discharge as { documentCarriesGoals?: string[] } | undefined)?.documentCarriesGoals ??
        s.goals.map((g) => g.key);
      const texts = (document?.entry ?? []).flatMap((x) =>
        x.resource?.resourceType === 'Goal' ? [x.resource.description.text] : [],
      );
      for (const key of carried) expect(texts).toContain(s.goals.find((g) => g.key === key)?.text);
    }
    if (e.phrAccessDenied) expect(r.phrStatus).toBe(403);
    // Turnaround is recorded for every request that was decided and paid.
    for (const q of requests.filter((x) => x.status === 'approved')) {
      expect(q.turnaround).toMatchObject({
        requestToDecisionHours: expect.any(Number),
        requestToPaymentHours: expect.any(Number),
      });
    }
  });

  it('reports the scenario results', () => {
    const lines = [...runs.entries()].map(([id, r]) => {
      const reqs = [...r.requests.entries()]
        .map(([k, q]) => `${k}:${q.status}[${q.requiredRoles.join('+') || q.refusalReason || ''}]`)
        .join(' ');
      return `${id}: agreement ${r.agreementStatus ?? '-'}; paid ${r.paid}; underspend ${String(r.audit?.underspend ?? '-')}; spent ${String(r.audit?.spent ?? '-')}; ${reqs}`;
    });
    process.stdout.write(`scenario runs:\n  ${lines.join('\n  ')}\n`);
    expect(runs.size).toBe(scenarios.length);
  });
});
