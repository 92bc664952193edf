import { loadPolicy } from '../../src/config/policy.js';
import type { SignOffRole } from '../../src/domain/codes.js';
import type { SignOffDecision, SpendRequest } from '../../src/domain/model.js';
import { formatPounds } from '../../src/domain/money.js';
import {
  appealDecline,
  recordDecision,
  recordPayment,
  submitRequest,
  type NewSpendRequest,
} from '../../src/domain/signoff/decisions.js';
import type { SignOffPolicy } from '../../src/domain/signoff/policy.js';
import { requiredSigners, type SignOffRequirement } from '../../src/domain/signoff/signers.js';
import { inHours, turnaround } from '../../src/domain/signoff/turnaround.js';
import { loadScenarios } from '../support/scenarios.js';
import { domainError } from '../support/domainError.js';

// The shipped documents, read from policies/ as the service reads them.
const cityAndHackney = loadPolicy('city-and-hackney');
const merseyside = loadPolicy('merseyside');
const PANEL: SignOffRole[] = ['lived-experience-reviewer', 'phb-lead-clinician', 'commissioner'];

function roles(requirement: SignOffRequirement): SignOffRole[] {
  if (requirement.outcome !== 'sign-off') throw new Error(`expected sign-off, got refusal: ${requirement.reason}`);
  return requirement.roles;
}

function refusal(requirement: SignOffRequirement): string {
  if (requirement.outcome !== 'refused') throw new Error(`expected a refusal, got ${requirement.roles.join(', ')}`);
  return requirement.reason;
}

describe('who must sign under City and Hackney (the default)', () => {
  it.each([
    [1, ['care-coordinator']],
    [25000, ['care-coordinator']],
    [25001, ['care-coordinator', 'team-lead']],
    [75000, ['care-coordinator', 'team-lead']],
    [75001, PANEL],
    [10_000_000, PANEL],
  ])('%i pence needs %j', (amount, expected) => {
    expect(roles(requiredSigners(cityAndHackney, { amount, category: 'it-equipment', kind: 'one-off' }))).toEqual(
      expected,
    );
    expect(roles(requiredSigners(cityAndHackney, { amount, category: 'therapy', kind: 'ongoing' }))).toEqual(expected);
  });

  it('names the tier, so staff see "e-approval panel" above £750', () => {
    expect(
      requiredSigners(cityAndHackney, { amount: 75001, category: 'education-and-training', kind: 'one-off' }),
    ).toMatchObject({ tier: 2, tierName: 'e-approval panel' });
  });

  it('refuses every national restriction with its name, at any amount, under every policy', () => {
    for (const policy of [cityAndHackney, merseyside]) {
      expect(refusal(requiredSigners(policy, { amount: 500, category: 'alcohol', kind: 'one-off' }))).toMatch(
        /^alcohol is a national restriction/,
      );
      expect(refusal(requiredSigners(policy, { amount: 500, category: 'gp-provided-care', kind: 'one-off' }))).toMatch(
        /^care normally provided by a GP is a national restriction/,
      );
      expect(
        requiredSigners(policy, { amount: 99_999_999, category: 'debt-repayment', kind: 'one-off' }),
      ).toMatchObject({
        outcome: 'refused',
        rule: 'national-restriction',
        restriction: 'debt-repayment',
        field: '/category',
      });
    }
  });

  it('refuses amounts that are not whole positive pence, naming the field', () => {
    expect(
      domainError(() => requiredSigners(cityAndHackney, { amount: 250.5, category: 'travel', kind: 'one-off' })).field,
    ).toBe('/amount');
    expect(
      domainError(() => requiredSigners(cityAndHackney, { amount: -1, category: 'travel', kind: 'one-off' })).field,
    ).toBe('/amount');
    expect(
      domainError(() => requiredSigners(cityAndHackney, { amount: 0, category: 'travel', kind: 'one-off' })).field,
    ).toBe('/amount');
  });
});

describe('Merseyside: one-off items up to £450, expressed only as data', () => {
  it('lets the care coordinator sign an item of exactly £450.00', () => {
    expect(
      roles(requiredSigners(merseyside, { amount: 45000, category: 'sport-and-fitness', kind: 'one-off' })),
    ).toEqual(['care-coordinator']);
  });

  it('refuses £450.01 with the limit as the reason', () => {
    const r = requiredSigners(merseyside, { amount: 45001, category: 'education-and-training', kind: 'one-off' });
    expect(r).toMatchObject({ outcome: 'refused', rule: 'item-limit', limit: 45000, field: '/amount' });
    expect(refusal(r)).toContain('over the one-off item limit of £450.00 under this policy');
  });

  it('does not cover ongoing PHBs, and says so rather than refusing the request', () => {
    const e = domainError(() => requiredSigners(merseyside, { amount: 1000, category: 'therapy', kind: 'ongoing' }));
    expect(e).toMatchObject({ field: '/kind', kind: 'business-rule' });
  });
});

describe('every scenario request gets the sign-off its journey expects', () => {
  const cases = loadScenarios().flatMap((s) =>
    (s.requests ?? []).map((r) => ({ scenario: s.id, policy: s.policy, kind: s.phb.kind, r })),
  );
  // The scenario texts write the limit in pence; people read pounds.
  const inPounds = (hint: string): string => hint.replace(/\b\d{3,}\b/g, (n) => formatPounds(Number(n)));

  it('covers requests under both policies, with refusals', () => {
    expect(new Set(cases.map((c) => c.policy))).toEqual(new Set(['city-and-hackney', 'merseyside']));
    expect(cases.filter((c) => c.r.expectRefused).length).toBeGreaterThanOrEqual(2);
  });

  it.each(cases.map((c) => [`${c.scenario}/${c.r.key}`, c]))('%s', (_name, { policy, kind, r }) => {
    const requirement = requiredSigners(loadPolicy(policy), { amount: r.amount, category: r.category, kind });
    if (r.expectRefused !== undefined) {
      expect(refusal(requirement)).toContain(inPounds(r.expectRefused));
    } else {
      expect(roles(requirement)).toEqual(r.expectSignOff);
    }
  });
});

const SUBMITTED = '2026-01-05T10:00:00Z';

function submit(
  amount: number,
  policy: SignOffPolicy = cityAndHackney,
  overrides: Partial<NewSpendRequest> = {},
): SpendRequest {
  return submitRequest(policy, {
    id: 'req-1',
    journeyId: 'j-1',
    budgetHolderId: 'p-1',
    planId: 'plan-1',
    itemId: 'item-1',
    amount,
    category: 'education-and-training',
    submittedBy: 'staff-submitter',
    submitted: SUBMITTED,
    kind: 'one-off',
    ...overrides,
  });
}

function approve(role: SignOffRole, decidedBy: string, time = '2026-01-06T09:00:00Z'): SignOffDecision {
  return { role, decidedBy, outcome: 'approve', time, rationale: 'Meets the recovery goal in the plan' };
}

function decline(role: SignOffRole, decidedBy: string, time = '2026-01-06T09:00:00Z'): SignOffDecision {
  return {
    role,
    decidedBy,
    outcome: 'decline',
    time,
    rationale: 'A free course covers the same goal',
    alternatives: 'The community college evening course',
  };
}

describe('submitting a request', () => {
  it('records the signers the policy requires', () => {
    expect(submit(42000)).toMatchObject({
      status: 'requested',
      requiredRoles: ['care-coordinator', 'team-lead'],
      decisions: [],
    });
  });

  it('refuses a restricted item at once, with the reason and no signers', () => {
    const r = submit(20000, cityAndHackney, { category: 'debt-repayment' });
    expect(r).toMatchObject({ status: 'refused', requiredRoles: [], decisions: [] });
    expect(r.refusalReason).toMatch(/^debt repayment is a national restriction/);
    expect(domainError(() => recordDecision(r, approve('care-coordinator', 'cc-1'), cityAndHackney)).kind).toBe(
      'business-rule',
    );
  });
});

describe('recording decisions', () => {
  it('approves on the one signer a small request needs, without touching the original', () => {
    const before = submit(3500);
    const after = recordDecision(before, approve('care-coordinator', 'cc-1'), cityAndHackney);
    expect(after.status).toBe('approved');
    expect(after.decisions).toEqual([
      {
        role: 'care-coordinator',
        decidedBy: 'cc-1',
        outcome: 'approve',
        time: '2026-01-06T09:00:00Z',
        rationale: 'Meets the recovery goal in the plan',
      },
    ]);
    expect(before).toMatchObject({ status: 'requested', decisions: [] });
  });

  it('never lets the submitter sign their own request', () => {
    const e = domainError(() =>
      recordDecision(submit(3500), approve('care-coordinator', 'staff-submitter'), cityAndHackney),
    );
    expect(e).toMatchObject({ field: '/decidedBy', kind: 'business-rule' });
    expect(e.message).toMatch(/nobody signs off a request they submitted/);
  });

  it('needs both co-signers between £250 and £750, and they must be two people', () => {
    const one = recordDecision(submit(42000), approve('care-coordinator', 'cc-1'), cityAndHackney);
    expect(one.status).toBe('requested');
    expect(domainError(() => recordDecision(one, approve('team-lead', 'cc-1'), cityAndHackney))).toMatchObject({
      field: '/decidedBy',
      kind: 'business-rule',
    });
    expect(recordDecision(one, approve('team-lead', 'tl-1'), cityAndHackney).status).toBe('approved');
  });

  it('refuses a second decision by a role that has already decided', () => {
    const one = recordDecision(submit(42000), approve('care-coordinator', 'cc-1'), cityAndHackney);
    const e = domainError(() => recordDecision(one, approve('care-coordinator', 'cc-2'), cityAndHackney));
    expect(e).toMatchObject({ field: '/role', kind: 'business-rule' });
    expect(e.message).toMatch(/care coordinator has already decided/);
  });

  it('refuses a role the request does not need', () => {
    const e = domainError(() => recordDecision(submit(3500), approve('team-lead', 'tl-1'), cityAndHackney));
    expect(e).toMatchObject({ field: '/role', kind: 'business-rule' });
    expect(e.message).toMatch(/needs care coordinator, not the team lead/);
  });

  it('needs all three panel roles above £750', () => {
    let r = submit(95000);
    r = recordDecision(r, approve('lived-experience-reviewer', 'lx-1'), cityAndHackney);
    r = recordDecision(r, approve('phb-lead-clinician', 'lc-1'), cityAndHackney);
    expect(r.status).toBe('requested');
    expect(domainError(() => recordDecision(r, approve('care-coordinator', 'cc-1'), cityAndHackney)).field).toBe(
      '/role',
    );
    r = recordDecision(r, approve('commissioner', 'com-1', '2026-01-08T16:30:00Z'), cityAndHackney);
    expect(r.status).toBe('approved');
    expect(r.decisions.map((d) => [d.role, d.decidedBy])).toEqual([
      ['lived-experience-reviewer', 'lx-1'],
      ['phb-lead-clinician', 'lc-1'],
      ['commissioner', 'com-1'],
    ]);
  });

  it('refuses a decline without a reason or without alternatives', () => {
    const noAlternatives = { ...decline('care-coordinator', 'cc-1'), alternatives: '  ' };
    expect(domainError(() => recordDecision(submit(3500), noAlternatives, cityAndHackney))).toMatchObject({
      field: '/alternatives',
      kind: 'invalid',
    });
    const { alternatives: _omitted, ...withoutAlternatives } = decline('care-coordinator', 'cc-1');
    expect(domainError(() => recordDecision(submit(3500), withoutAlternatives, cityAndHackney)).message).toMatch(
      /a decline must offer alternatives/,
    );
    expect(
      domainError(() =>
        recordDecision(submit(3500), { ...decline('care-coordinator', 'cc-1'), rationale: '' }, cityAndHackney),
      ).field,
    ).toBe('/rationale');
  });

  it('ends the round on any decline, keeping the reason and alternatives', () => {
    let r = recordDecision(submit(95000), approve('lived-experience-reviewer', 'lx-1'), cityAndHackney);
    r = recordDecision(r, decline('commissioner', 'com-1'), cityAndHackney);
    expect(r.status).toBe('declined');
    expect(r.decisions[1]).toMatchObject({
      outcome: 'decline',
      rationale: 'A free course covers the same goal',
      alternatives: 'The community college evening course',
    });
    expect(domainError(() => recordDecision(r, approve('phb-lead-clinician', 'lc-1'), cityAndHackney)).message).toMatch(
      /the request is declined/,
    );
  });

  it('requires a named decision-maker and a zoned time not before the request', () => {
    expect(
      domainError(() => recordDecision(submit(3500), approve('care-coordinator', ' '), cityAndHackney)).field,
    ).toBe('/decidedBy');
    expect(
      domainError(() => recordDecision(submit(3500), approve('care-coordinator', 'cc-1', '2026-01-06'), cityAndHackney))
        .field,
    ).toBe('/time');
    expect(
      domainError(() =>
        recordDecision(submit(3500), approve('care-coordinator', 'cc-1', '2026-01-04T09:00:00Z'), cityAndHackney),
      ).message,
    ).toMatch(/before the request was submitted/);
  });
});

describe('appeals', () => {
  const declined = recordDecision(submit(3500), decline('care-coordinator', 'cc-1'), cityAndHackney);
  const appeal = {
    appealedBy: 'p-1',
    time: '2026-01-07T12:00:00Z',
    reason: 'The evening course clashes with my shifts',
  };

  it('reopen a declined request for fresh decisions, keeping the declined round and the reason', () => {
    const reopened = appealDecline(declined, appeal);
    expect(reopened).toMatchObject({ status: 'appealed', decisions: [], requiredRoles: ['care-coordinator'] });
    expect(reopened.appeals).toEqual([{ ...appeal, decisions: declined.decisions }]);
    expect(declined.status).toBe('declined');
    const approved = recordDecision(
      reopened,
      approve('care-coordinator', 'cc-2', '2026-01-09T10:00:00Z'),
      cityAndHackney,
    );
    expect(approved.status).toBe('approved');
  });

  it('are heard by someone other than the decliner when the policy says so', () => {
    const reopened = appealDecline(declined, appeal);
    const e = domainError(() =>
      recordDecision(reopened, approve('care-coordinator', 'cc-1', '2026-01-09T10:00:00Z'), cityAndHackney),
    );
    expect(e).toMatchObject({ field: '/decidedBy', kind: 'business-rule' });
    const lenient: SignOffPolicy = { ...cityAndHackney, appeals: { decliningSignersStandAside: false } };
    expect(recordDecision(reopened, approve('care-coordinator', 'cc-1', '2026-01-09T10:00:00Z'), lenient).status).toBe(
      'approved',
    );
  });

  it('need a reason, and only a declined request can be appealed', () => {
    expect(domainError(() => appealDecline(declined, { ...appeal, reason: '' })).field).toBe('/reason');
    expect(domainError(() => appealDecline(submit(3500), appeal)).message).toMatch(
      /only a declined request can be appealed/,
    );
    expect(domainError(() => appealDecline(declined, { ...appeal, time: '2026-01-05T12:00:00Z' })).message).toMatch(
      /before the decline/,
    );
  });

  it('decisions on an appeal come after it', () => {
    const reopened = appealDecline(declined, appeal);
    expect(
      domainError(() =>
        recordDecision(reopened, approve('care-coordinator', 'cc-2', '2026-01-07T11:00:00Z'), cityAndHackney),
      ).message,
    ).toMatch(/before the appeal/);
  });
});

describe('turnaround: request -> decision -> payment', () => {
  it('measures from submission to the last approval to payment', () => {
    let r = submit(95000);
    r = recordDecision(r, approve('lived-experience-reviewer', 'lx-1', '2026-01-06T10:00:00Z'), cityAndHackney);
    r = recordDecision(r, approve('commissioner', 'com-1', '2026-01-08T10:00:00Z'), cityAndHackney);
    r = recordDecision(r, approve('phb-lead-clinician', 'lc-1', '2026-01-07T10:00:00Z'), cityAndHackney);
    r = recordPayment(r, '2026-01-12T10:00:00Z');
    const t = turnaround(r);
    expect(t).toMatchObject({
      submitted: SUBMITTED,
      decided: '2026-01-08T10:00:00Z',
      paid: '2026-01-12T10:00:00Z',
      appeals: 0,
    });
    expect(inHours(t.requestToDecisionMs ?? NaN)).toBe(72);
    expect(inHours(t.decisionToPaymentMs ?? NaN)).toBe(96);
    expect(inHours(t.requestToPaymentMs ?? NaN)).toBe(168);
  });

  it('has no decision time while a request waits, and counts appeals', () => {
    expect(turnaround(submit(42000))).toEqual({ submitted: SUBMITTED, appeals: 0 });
    const declined = recordDecision(submit(3500), decline('care-coordinator', 'cc-1'), cityAndHackney);
    expect(turnaround(declined).decided).toBe('2026-01-06T09:00:00Z');
    const reopened = appealDecline(declined, { appealedBy: 'p-1', time: '2026-01-07T09:00:00Z', reason: 'New quote' });
    expect(turnaround(reopened)).toEqual({ submitted: SUBMITTED, appeals: 1 });
    const approved = recordDecision(
      reopened,
      approve('care-coordinator', 'cc-2', '2026-01-10T09:00:00Z'),
      cityAndHackney,
    );
    expect(turnaround(approved)).toMatchObject({
      decided: '2026-01-10T09:00:00Z',
      requestToDecisionMs: 5 * 24 * 3600 * 1000 - 3600 * 1000,
      appeals: 1,
    });
  });

  it('pays only approved requests, once, after the approval', () => {
    const approved = recordDecision(submit(3500), approve('care-coordinator', 'cc-1'), cityAndHackney);
    expect(domainError(() => recordPayment(submit(3500), '2026-01-12T10:00:00Z')).kind).toBe('business-rule');
    expect(domainError(() => recordPayment(approved, '2026-01-06T08:00:00Z')).field).toBe('/paidOn');
    const paid = recordPayment(approved, '2026-01-12T10:00:00Z');
    expect(domainError(() => recordPayment(paid, '2026-01-13T10:00:00Z')).message).toMatch(/already paid/);
  });
});
