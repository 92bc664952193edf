import { MANAGEMENT_OPTIONS, restrictionFor, RESTRICTION_LABELS, type ManagementOption } from './codes.js';
import { workingAmount } from './budget.js';
import { DomainError } from './errors.js';
import type { Agreement, Budget, CarePlanPcsp, Payment, PlanItem, SpendLine, SpendRequest } from './model.js';
import { formatPounds, requirePence, sumPence, type Pence } from './money.js';

/**
 * Money out of the budget and what it bought (steps 5 and 6): payments, spend lines, the
 * financial audit and recovering an underspend. A payment with a negative amount is money paid
 * back: an underspend recovered after a conversation with the person.
 */

/** Options where money actually reaches the person or an account they control, so an agreement is signed first. */
/** Options under which money reaches the person (or their account), so an agreement must be signed first. */
export const PAID_TO_PERSON: readonly ManagementOption[] = ['direct-payment', 'managed-account'];

/** How an item is paid: its own option, else the budget's single option; a mixed budget must say. */
export function optionFor(
  budget: Pick<Budget, 'managementOption'>,
  item?: Pick<PlanItem, 'managementOption'>,
): ManagementOption | undefined {
  return item?.managementOption ?? (budget.managementOption === 'mixed' ? undefined : budget.managementOption);
}

function paidAs(payments: readonly Payment[], option: ManagementOption): Pence {
  return sumPence(payments.filter((p) => p.managementOption === option).map((p) => p.amount));
}

export interface PaymentInput {
  id: string;
  amount: Pence;
  paid: string;
  managementOption?: ManagementOption;
  request?: SpendRequest;
}

/**
 * A payment out of the budget. It settles an approved spend request (for its amount at most) or,
 * for an ongoing budget, is a scheduled payment of the agreed amount; money paid to the person
 * needs their signed direct payment agreement; and no option is paid more than the budget holds
 * for it.
 */
export function checkPayment(
  input: PaymentInput,
  context: { budget: Budget; plan?: CarePlanPcsp; payments: readonly Payment[]; agreement?: Agreement },
): Payment {
  const { budget, plan, payments, agreement } = context;
  const amount = requirePence(input.amount, '/amount');
  if (amount === 0) throw new DomainError('/amount', '/amount: a payment must be for more than £0.00');
  if (budget.agreed === undefined || budget.status !== 'active') {
    throw new DomainError('', 'nothing is paid before the plan and budget are agreed', 'business-rule');
  }
  const item = input.request ? plan?.items.find((i) => i.id === input.request?.itemId) : undefined;
  const option = input.managementOption ?? optionFor(budget, item);
  if (option === undefined)
    throw new DomainError('/managementOption', '/managementOption: a mixed budget must say which part of it pays');
  if (budget.split[option] === undefined) {
    throw new DomainError(
      '/managementOption',
      `/managementOption: this budget holds nothing as ${option}`,
      'business-rule',
    );
  }
  if (input.request) {
    if (input.request.status !== 'approved') {
      throw new DomainError(
        '/requestId',
        `/requestId: only an approved request is paid; this one is ${input.request.status}`,
        'business-rule',
      );
    }
    if (input.request.paidOn !== undefined)
      throw new DomainError(
        '/requestId',
        `/requestId: the request was already paid on ${input.request.paidOn}`,
        'business-rule',
      );
    if (amount > input.request.amount) {
      throw new DomainError(
        '/amount',
        `/amount: ${formatPounds(amount)} is more than the ${formatPounds(input.request.amount)} signed off`,
        'business-rule',
      );
    }
  } else if (budget.kind !== 'ongoing') {
    throw new DomainError('/requestId', '/requestId: a one-off budget pays signed-off requests only', 'business-rule');
  }
  if (PAID_TO_PERSON.includes(option) && !agreement) {
    throw new DomainError(
      '',
      `a ${option} is paid only once the person has signed the direct payment agreement`,
      'business-rule',
    );
  }
  const held = budget.split[option] ?? 0;
  const already = paidAs(payments, option);
  if (already + amount > held) {
    throw new DomainError(
      '/amount',
      `/amount: ${formatPounds(already + amount)} paid as ${option} would be more than the ${formatPounds(held)} the budget holds for it`,
      'business-rule',
    );
  }
  return {
    id: input.id,
    budgetId: budget.id,
    amount,
    paid: input.paid,
    managementOption: option,
    ...(input.request ? { requestId: input.request.id } : {}),
  };
}

/**
 * Money spent, against a plan item where there is one. Spending on a nationally restricted
 * category, or on an item the plan does not (or no longer) allow, is recorded but flagged for
 * the financial audit: the record must show what happened.
 */
export function recordSpend(line: SpendLine, plan: CarePlanPcsp | undefined): SpendLine {
  const amount = requirePence(line.amount, '/amount');
  if (amount === 0) throw new DomainError('/amount', '/amount: spend must be more than £0.00');
  const item = line.itemId !== undefined ? plan?.items.find((i) => i.id === line.itemId) : undefined;
  if (line.itemId !== undefined && !item) throw new DomainError('/itemId', '/itemId: no such item in the plan');
  const restricted = restrictionFor(line.category) !== undefined;
  const notAllowed = item !== undefined && (item.status === 'declined' || item.status === 'cancelled');
  return restricted || notAllowed ? { ...line, flaggedMisuse: true } : line;
}

export interface MisuseFlag {
  lineId: string;
  amount: Pence;
  reason: string;
}

export interface FinancialAudit {
  budget: Pence;
  paid: Pence;
  paidByOption: Partial<Record<ManagementOption, Pence>>;
  spent: Pence;
  spentByOption: Partial<Record<ManagementOption, Pence>>;
  /** Spend that no plan item ties to an option, in a mixed budget. */
  unattributedSpend: Pence;
  /** The budget less everything spent (never negative). */
  underspend: Pence;
  /** Per option money reached the person: paid less spent, before recovery. */
  underspendByOption: Partial<Record<ManagementOption, Pence>>;
  recovered: Pence;
  /** Underspend per option still to recover. */
  outstandingByOption: Partial<Record<ManagementOption, Pence>>;
  overspend: Pence;
  misuse: MisuseFlag[];
}

function misuseReason(line: SpendLine, item: PlanItem | undefined): string {
  const restriction = restrictionFor(line.category);
  if (restriction) return `${RESTRICTION_LABELS[restriction]} is a national restriction`;
  if (item && (item.status === 'declined' || item.status === 'cancelled'))
    return `spent on an item that is ${item.status}`;
  return 'flagged at audit';
}

/** Step 6: the financial audit of one budget. */
export function financialAudit(
  budget: Budget,
  plan: CarePlanPcsp | undefined,
  payments: readonly Payment[],
  lines: readonly SpendLine[],
): FinancialAudit {
  const outgoing = payments.filter((p) => p.amount > 0);
  const recoveries = payments.filter((p) => p.amount < 0);
  const itemOf = (line: SpendLine): PlanItem | undefined => plan?.items.find((i) => i.id === line.itemId);
  const paidByOption: Partial<Record<ManagementOption, Pence>> = {};
  const spentByOption: Partial<Record<ManagementOption, Pence>> = {};
  const underspendByOption: Partial<Record<ManagementOption, Pence>> = {};
  const outstandingByOption: Partial<Record<ManagementOption, Pence>> = {};
  let unattributed = 0;
  for (const line of lines) {
    const option = optionFor(budget, itemOf(line));
    if (option === undefined) unattributed += line.amount;
    else spentByOption[option] = (spentByOption[option] ?? 0) + line.amount;
  }
  for (const option of MANAGEMENT_OPTIONS) {
    const paid = paidAs(outgoing, option);
    if (paid > 0) paidByOption[option] = paid;
    if (!PAID_TO_PERSON.includes(option) || paid === 0) continue;
    const left = Math.max(0, paid - (spentByOption[option] ?? 0));
    underspendByOption[option] = left;
    outstandingByOption[option] = Math.max(0, left + paidAs(recoveries, option));
  }
  const spent = sumPence(lines.map((l) => l.amount));
  const available = workingAmount(budget);
  return {
    budget: available,
    paid: sumPence(outgoing.map((p) => p.amount)),
    paidByOption,
    spent,
    spentByOption,
    unattributedSpend: unattributed,
    underspend: Math.max(0, available - spent),
    underspendByOption,
    recovered: -sumPence(recoveries.map((p) => p.amount)),
    outstandingByOption,
    overspend: Math.max(0, spent - available),
    misuse: lines
      .filter((l) => l.flaggedMisuse === true)
      .map((l) => ({ lineId: l.id, amount: l.amount, reason: misuseReason(l, itemOf(l)) })),
  };
}

/**
 * Recovering an underspend, once agreed with the person: recorded as a payment back (a negative
 * amount) from the part of the budget that holds it, never more than is left unspent there.
 */
export function recoverUnderspend(
  input: { id: string; amount: Pence; agreed: string; managementOption: ManagementOption },
  budget: Budget,
  audit: FinancialAudit,
): Payment {
  const amount = requirePence(input.amount, '/amount');
  if (amount === 0) throw new DomainError('/amount', '/amount: a recovery must be for more than £0.00');
  const outstanding = audit.outstandingByOption[input.managementOption] ?? 0;
  if (amount > outstanding) {
    throw new DomainError(
      '/amount',
      `/amount: only ${formatPounds(outstanding)} of the ${input.managementOption} is unspent and not yet recovered`,
      'business-rule',
    );
  }
  return {
    id: input.id,
    budgetId: budget.id,
    amount: -amount,
    paid: input.agreed,
    managementOption: input.managementOption,
  };
}
