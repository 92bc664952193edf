import {
  CALCULATION_LINE_KINDS,
  EMPLOYMENT_ON_COST_KINDS,
  MANAGEMENT_OPTIONS,
  isCode,
  type ManagementOption,
} from './codes.js';
import { DomainError } from './errors.js';
import type { Budget, CalculationLine, CarePlanPcsp, SpendLine } from './model.js';
import { formatPounds, requirePence, sumPence, type Pence } from './money.js';

/** The amount the plan works to: the agreed budget once there is one, else the indicative. */
export function workingAmount(budget: Pick<Budget, 'indicative' | 'agreed'>): Pence {
  return budget.agreed ?? budget.indicative;
}

/**
 * How the money is held must add up: one option holds the whole amount, `mixed` splits it
 * across at least two options whose amounts sum to the budget exactly. Errors name the split by
 * `at`, its JSON pointer in the request.
 */
export function checkManagementSplit(
  budget: Pick<Budget, 'indicative' | 'agreed' | 'managementOption' | 'split'>,
  at = '/split',
): void {
  const entries = Object.entries(budget.split) as [string, unknown][];
  for (const [option, amount] of entries) {
    if (!isCode(MANAGEMENT_OPTIONS, option)) {
      throw new DomainError(
        `${at}/${option}`,
        `${at}/${option}: not a management option (one of ${MANAGEMENT_OPTIONS.join(', ')})`,
      );
    }
    requirePence(amount, `${at}/${option}`);
  }
  const options = entries.map(([option]) => option as ManagementOption);
  if (budget.managementOption === 'mixed') {
    if (options.length < 2)
      throw new DomainError(at, `${at}: a mixed budget names at least two management options with an amount each`);
  } else if (options.length !== 1 || options[0] !== budget.managementOption) {
    throw new DomainError(
      at,
      `${at}: a ${budget.managementOption} budget holds its whole amount as ${budget.managementOption}`,
    );
  }
  const total = sumPence(entries.map(([, amount]) => amount as Pence));
  const expected = workingAmount(budget);
  if (total !== expected) {
    throw new DomainError(
      at,
      `${at}: the amounts add up to ${formatPounds(total)}, not the budget of ${formatPounds(expected)}`,
      'business-rule',
    );
  }
}

/**
 * The calculation lines are the working of the indicative amount, so they add up to it exactly.
 * The agreed amount is not set from them: agreeing the plan or a review may agree a different
 * amount, and the lines stay as the record of how the indicative budget was worked out.
 * Each amount is more than zero; employment on-costs (National Insurance, pension, training,
 * insurance, payroll) appear only beside a personal assistant's pay. Errors name the line by its
 * JSON pointer under `at`.
 */
export function checkCalculationLines(
  budget: Pick<Budget, 'indicative' | 'calculationLines'>,
  at = '/calculationLines',
): void {
  const lines: readonly CalculationLine[] | undefined = budget.calculationLines;
  if (lines === undefined) return;
  if (lines.length === 0) throw new DomainError(at, `${at}: give at least one line, or leave the lines out`);
  lines.forEach((line, i) => {
    if (!isCode(CALCULATION_LINE_KINDS, line.kind)) {
      throw new DomainError(
        `${at}/${i}/kind`,
        `${at}/${i}/kind: not a calculation line kind (one of ${CALCULATION_LINE_KINDS.join(', ')})`,
      );
    }
    requirePence(line.amount, `${at}/${i}/amount`);
    if (line.amount === 0)
      throw new DomainError(`${at}/${i}/amount`, `${at}/${i}/amount: a line costs more than nothing; leave it out`);
  });
  const paysAssistant = lines.some((line) => line.kind === 'personal-assistant-pay');
  const onCost = lines.findIndex((line) => EMPLOYMENT_ON_COST_KINDS.includes(line.kind));
  if (onCost >= 0 && !paysAssistant) {
    throw new DomainError(
      `${at}/${onCost}/kind`,
      `${at}/${onCost}/kind: ${lines[onCost]?.kind} is an employment on-cost, only in a calculation with a personal-assistant-pay line`,
      'business-rule',
    );
  }
  const total = sumPence(lines.map((line) => line.amount));
  if (total !== budget.indicative) {
    const gap = total - budget.indicative;
    throw new DomainError(
      at,
      `${at}: the lines add up to ${formatPounds(total)}, ${formatPounds(Math.abs(gap))} ${gap > 0 ? 'more' : 'less'} than the indicative budget of ${formatPounds(budget.indicative)}`,
      'business-rule',
    );
  }
}

export function planTotal(plan: Pick<CarePlanPcsp, 'items'>): Pence {
  return sumPence(plan.items.filter((i) => i.status !== 'declined' && i.status !== 'cancelled').map((i) => i.cost));
}

/** A plan whose items cost more than the budget cannot be agreed. */
export function checkPlanWithinBudget(
  plan: Pick<CarePlanPcsp, 'items'>,
  budget: Pick<Budget, 'indicative' | 'agreed'>,
): void {
  const total = planTotal(plan);
  const available = workingAmount(budget);
  if (total > available) {
    throw new DomainError(
      '/items',
      `/items: the plan costs ${formatPounds(total)}, more than the budget of ${formatPounds(available)}; revise the budget or reduce an item`,
      'business-rule',
    );
  }
}

/** Money left unspent: the budget less what was actually spent (never negative: overspend is reported apart). */
export function underspend(
  budget: Pick<Budget, 'indicative' | 'agreed'>,
  spent: readonly Pick<SpendLine, 'amount'>[],
): Pence {
  return Math.max(0, workingAmount(budget) - sumPence(spent.map((s) => s.amount)));
}

/** Where the money stands, in pence. */
export interface BudgetPosition {
  indicative: Pence;
  agreed?: Pence;
  /** Paid out of the budget (to the person, a nominee or a provider). */
  paid: Pence;
  /** Actually spent, as recorded with evidence. */
  spent: Pence;
  /** The working amount (agreed, else indicative) less what was spent; negative when overspent. */
  remaining: Pence;
}

export function budgetPosition(
  budget: Pick<Budget, 'indicative' | 'agreed'>,
  payments: readonly { amount: Pence }[],
  spend: readonly { amount: Pence }[],
): BudgetPosition {
  const spent = sumPence(spend.map((s) => s.amount));
  return {
    indicative: budget.indicative,
    ...(budget.agreed !== undefined ? { agreed: budget.agreed } : {}),
    paid: sumPence(payments.map((p) => p.amount)),
    spent,
    remaining: workingAmount(budget) - spent,
  };
}
