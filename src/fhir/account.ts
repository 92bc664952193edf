import type { Account } from 'fhir/r4.js';
import type { Budget, BudgetAccount } from '../domain/model.js';
import { reference, referencedId } from './common.js';
import { oneOf, opt, required, resourceId } from './fields.js';

/** BudgetAccount <-> Account (mappings/spend.md): the ledger of one budget. */

const STATUSES = ['active', 'inactive'] as const;
export const ACCOUNT_NAME = 'Personal health budget';

/** The ledger for a budget: same id as the budget, so ChargeItem.account finds it without a search. */
export function accountFor(budget: Budget): BudgetAccount {
  return {
    id: budget.id,
    budgetId: budget.id,
    budgetHolderId: budget.budgetHolderId,
    ownerId: budget.payorId,
    status: budget.status === 'active' ? 'active' : 'inactive',
    period: { ...budget.period },
  };
}

export function toFhir(account: BudgetAccount): Account {
  return {
    resourceType: 'Account',
    id: account.id,
    status: account.status,
    name: ACCOUNT_NAME,
    subject: [reference('Patient', account.budgetHolderId)],
    servicePeriod: { start: account.period.start, ...opt('end', account.period.end) },
    coverage: [{ coverage: reference('Coverage', account.budgetId), priority: 1 }],
    ...(account.ownerId !== undefined ? { owner: reference('Organization', account.ownerId) } : {}),
    description: 'Payments from and spending of this personal health budget. The person is never charged.',
  };
}

export function fromFhir(account: Account): BudgetAccount {
  return {
    id: resourceId(account),
    budgetId: referencedId(account.coverage?.[0]?.coverage, 'Coverage', '/coverage/0/coverage'),
    budgetHolderId: referencedId(account.subject?.[0], 'Patient', '/subject/0'),
    ...opt('ownerId', account.owner ? referencedId(account.owner, 'Organization', '/owner') : undefined),
    status: oneOf(account.status, STATUSES, '/status'),
    period: {
      start: required(account.servicePeriod?.start, '/servicePeriod/start'),
      ...opt('end', account.servicePeriod?.end),
    },
  };
}
