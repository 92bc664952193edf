import {
  checkCalculationLines,
  checkManagementSplit,
  checkPlanWithinBudget,
  planTotal,
  underspend,
} from '../../src/domain/budget.js';
import { formatPounds, penceToPounds, poundsToPence } from '../../src/domain/money.js';
import { isValidNhsNumber, parseNhsNumber } from '../../src/domain/nhsNumber.js';
import { loadScenarios } from '../support/scenarios.js';
import { scenarioDomain } from '../support/scenarioDomain.js';
import { domainError } from '../support/domainError.js';
import { fixtureBudgets, fixturePlans } from '../support/planFixtures.js';
import { reviseAtReview } from '../../src/domain/plan.js';
import type { Budget, CalculationLine, CarePlanPcsp } from '../../src/domain/model.js';

const scenarios = loadScenarios();
const byId = (id: string) => {
  const s = scenarios.find((x) => x.id === id);
  if (!s) throw new Error(`no scenario ${id}`);
  return { s, d: scenarioDomain(s) };
};

describe('NHS number', () => {
  it.each(scenarios.map((s) => [s.id, s.person.nhsNumber]))('accepts the scenario number of %s', (_id, nhs) => {
    expect(isValidNhsNumber(nhs)).toBe(true);
  });

  it('accepts spaces as people write it', () => {
    expect(parseNhsNumber('999 007 9196')).toBe('9990079196');
  });

  it('refuses a wrong check digit, naming the field but not echoing the number', () => {
    const e = domainError(() => parseNhsNumber('9990079197', '/person/nhsNumber'));
    expect(e.field).toBe('/person/nhsNumber');
    expect(e.message).toMatch(
      /^\/person\/nhsNumber: not a valid NHS number \(the Modulus 11 check digit does not match\)$/,
    );
    expect(e.message).not.toContain('9990079197');
  });

  it('refuses a number whose check digit would be 10', () => {
    // 000000006: weighted sum 6 x 2 = 12, and 11 - (12 mod 11) = 10, so no check digit can be right.
    expect(isValidNhsNumber('0000000060')).toBe(false);
    expect(domainError(() => parseNhsNumber('12345')).message).toMatch(/exactly 10 digits/);
  });
});

describe('money in pence', () => {
  it('converts exactly to and from pounds', () => {
    expect(penceToPounds(25001)).toBe(250.01);
    expect(poundsToPence(250.01, '/amount')).toBe(25001);
    expect(poundsToPence(0.1 + 0.2, '/amount')).toBe(30);
    expect(() => poundsToPence(1.005, '/amount')).toThrow(/at most two decimal places/);
    expect(formatPounds(3000000)).toBe('£30,000.00');
  });
});

describe('management option split', () => {
  it('accepts the Blackpool mixed budget: direct payment plus notional hydrotherapy', () => {
    const { d } = byId('blackpool-chc-ongoing');
    expect(() => checkManagementSplit(d.budget)).not.toThrow();
  });

  it('accepts every scenario budget', () => {
    for (const s of scenarios) expect(() => checkManagementSplit(scenarioDomain(s).budget)).not.toThrow();
  });

  it('refuses a mixed split that does not add up, saying by how much', () => {
    const { d } = byId('blackpool-chc-ongoing');
    const e = domainError(() =>
      checkManagementSplit({ ...d.budget, split: { 'direct-payment': 2600000, notional: 300000 } }),
    );
    expect(e.kind).toBe('business-rule');
    expect(e.message).toBe('/split: the amounts add up to £29,000.00, not the budget of £30,000.00');
  });

  it('refuses a mixed budget with one option, and a single option holding another', () => {
    const { d } = byId('blackpool-chc-ongoing');
    expect(domainError(() => checkManagementSplit({ ...d.budget, split: { notional: 3000000 } })).message).toMatch(
      /at least two/,
    );
    expect(
      domainError(() =>
        checkManagementSplit({ ...d.budget, managementOption: 'notional', split: { 'direct-payment': 3000000 } }),
      ).message,
    ).toMatch(/a notional budget holds its whole amount as notional/);
  });
});

describe('budget calculation lines', () => {
  const pa = fixtureBudgets.find((b) => b.calculationLines?.length);
  if (!pa?.calculationLines) throw new Error('no fixture budget with calculation lines');
  const lines: CalculationLine[] = pa.calculationLines;
  const withLines = (calculationLines: CalculationLine[], indicative = pa.indicative) =>
    checkCalculationLines({ indicative, calculationLines });

  it('accepts a personal assistant with each on-cost on its own line, adding up to the indicative amount', () => {
    expect(() => withLines(lines)).not.toThrow();
  });

  it('accepts a budget without lines, and lines with no employment at all', () => {
    expect(() => checkCalculationLines({ indicative: 50000 })).not.toThrow();
    expect(() =>
      withLines(
        [
          { kind: 'other-support', amount: 45000 },
          { kind: 'contingency', amount: 5000 },
        ],
        50000,
      ),
    ).not.toThrow();
  });

  it('refuses lines that do not add up to the indicative amount, saying by how much', () => {
    const e = domainError(() => withLines(lines, pa.indicative + 150));
    expect(e.field).toBe('/calculationLines');
    expect(e.kind).toBe('business-rule');
    expect(e.message).toBe(
      '/calculationLines: the lines add up to £26,000.00, £1.50 less than the indicative budget of £26,001.50',
    );
    expect(domainError(() => withLines(lines, pa.indicative - 1)).message).toMatch(/£0\.01 more than/);
  });

  it('refuses an amount that is not a positive whole number of pence, naming the line', () => {
    const at = (i: number, amount: number) => lines.map((l, j) => (j === i ? { ...l, amount } : l));
    expect(domainError(() => withLines(at(2, 0))).field).toBe('/calculationLines/2/amount');
    expect(domainError(() => withLines(at(3, -100))).field).toBe('/calculationLines/3/amount');
    expect(domainError(() => withLines(at(1, 12.5))).field).toBe('/calculationLines/1/amount');
  });

  it('refuses employment on-costs without a personal assistant to employ, naming the first on-cost', () => {
    const e = domainError(() =>
      withLines(
        [
          { kind: 'other-support', amount: 40000 },
          { kind: 'employer-pension', amount: 5000 },
          { kind: 'training', amount: 5000 },
        ],
        50000,
      ),
    );
    expect(e.field).toBe('/calculationLines/1/kind');
    expect(e.kind).toBe('business-rule');
    expect(e.message).toMatch(/employer-pension is an employment on-cost/);
  });

  it('refuses an unknown kind and an empty list, naming where', () => {
    const unknown = [{ kind: 'holiday-pay', amount: 50000 }] as unknown as CalculationLine[];
    expect(domainError(() => withLines(unknown, 50000)).field).toBe('/calculationLines/0/kind');
    expect(domainError(() => withLines([], 50000)).field).toBe('/calculationLines');
  });

  it('names the lines under another pointer when asked', () => {
    const e = domainError(() => checkCalculationLines({ indicative: 1, calculationLines: lines }, '/budget/lines'));
    expect(e.field).toBe('/budget/lines');
  });
});

describe('plan against budget', () => {
  it('refuses to agree the stay-connected plan: 246.00 of items against a 200.00 budget', () => {
    const { s, d } = byId('ch-stay-connected');
    expect(s.expect.planOverBudgetRejected).toBe(true);
    expect(planTotal(d.plan)).toBe(24600);
    const e = domainError(() => checkPlanWithinBudget(d.plan, d.budget));
    expect(e.message).toMatch(/£246.00, more than the budget of £200.00/);
  });

  it('agrees the laptop plan and leaves the expected underspend', () => {
    const { s, d } = byId('ch-laptop-gcse');
    expect(() => checkPlanWithinBudget(d.plan, d.budget)).not.toThrow();
    expect(underspend(d.budget, [{ amount: 42000 }])).toBe(s.expect.underspend);
  });
});

describe('changes at a review name the field in the review request', () => {
  const plan = fixturePlans[0] as CarePlanPcsp;
  const budget = { ...(fixtureBudgets[0] as Budget), id: plan.budgetId };

  it('names a split that does not add up under /budgetChange/split', () => {
    const e = domainError(() =>
      reviseAtReview(plan, budget, { budget: { agreed: 1200000, split: { 'managed-account': 1100000 } } }),
    );
    expect(e.field).toBe('/budgetChange/split');
    expect(e.message).toMatch(
      /^\/budgetChange\/split: the amounts add up to £11,000\.00, not the budget of £12,000\.00$/,
    );
    expect(e.kind).toBe('business-rule');
  });

  it('names an option that is not one under /budgetChange/split/<option>', () => {
    const e = domainError(() =>
      reviseAtReview(plan, budget, {
        budget: { agreed: 1200000, split: { cash: 1200000 } as unknown as Budget['split'] },
      }),
    );
    expect(e.field).toBe('/budgetChange/split/cash');
    expect(e.message).toMatch(/^\/budgetChange\/split\/cash: not a management option/);
  });

  it('names an added item under /planChanges/addItems/<n>', () => {
    const item = {
      id: 'fx-new',
      description: 'Gym pass',
      category: 'sport-and-fitness',
      cost: 5000,
      goalIds: ['not-a-goal'],
      status: 'proposed',
    } as const;
    const e = domainError(() =>
      reviseAtReview(plan, budget, { plan: { addItems: [{ ...item, goalIds: [...item.goalIds] }] } }),
    );
    expect(e.field).toBe('/planChanges/addItems/0/goals/0');
    expect(e.message).toBe('/planChanges/addItems/0/goals/0: not a goal of this plan');
  });
});
