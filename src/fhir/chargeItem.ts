import type { ChargeItem } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';
import { MANAGEMENT_OPTIONS, SPEND_CATEGORIES } from '../domain/codes.js';
import type { Payment, SpendLine } from '../domain/model.js';
import { SYSTEMS, codeFrom, concept, extension, money, pence, reference, referencedId } from './common.js';
import { extensionAt, opt, requireBoolean, required, resourceId } from './fields.js';

/**
 * The budget's ledger entries <-> ChargeItem (mappings/spend.md, mappings/payment.md). Both
 * money paid out of the budget and what it was spent on are booked to the budget's Account; the
 * code's system tells them apart: a management option for a payment, a spend category for a line.
 */

export type LedgerEntry = { kind: 'spend'; line: SpendLine } | { kind: 'payment'; payment: Payment };

/** Neither SpendLine nor Payment holds the person, but FHIR requires ChargeItem.subject. */
export interface LedgerContext {
  budgetHolderId: string;
}

/** Plan items are CarePlan.activity elements whose element id is the item id (as the sign-off Task names them). */
export const PLAN_ITEM_EXTENSION = 'phb-spend-plan-item';
export const EVIDENCE_EXTENSION = 'phb-spend-evidence';
export const MISUSE_EXTENSION = 'phb-misuse-flag';

function spendLineToFhir(line: SpendLine, context: LedgerContext): ChargeItem {
  const extensions = [
    ...(line.itemId !== undefined ? [extension(PLAN_ITEM_EXTENSION, { valueString: line.itemId })] : []),
    ...(line.evidence !== undefined ? [extension(EVIDENCE_EXTENSION, { valueString: line.evidence })] : []),
    ...(line.flaggedMisuse !== undefined ? [extension(MISUSE_EXTENSION, { valueBoolean: line.flaggedMisuse })] : []),
  ];
  return {
    resourceType: 'ChargeItem',
    id: line.id,
    ...(extensions.length ? { extension: extensions } : {}),
    // Money has moved: the record is of a past fact, not a bill to come.
    status: 'billed',
    code: concept('spend-category', line.category),
    subject: reference('Patient', context.budgetHolderId),
    occurrenceDateTime: line.occurred,
    priceOverride: money(line.amount),
    overrideReason: 'Amount actually spent',
    account: [reference('Account', line.budgetId)],
  };
}

function paymentToFhir(payment: Payment, context: LedgerContext): ChargeItem {
  return {
    resourceType: 'ChargeItem',
    id: payment.id,
    status: 'billed',
    code: concept('management-option', payment.managementOption),
    subject: reference('Patient', context.budgetHolderId),
    occurrenceDateTime: payment.paid,
    priceOverride: money(payment.amount),
    // A negative payment is money paid back: an underspend recovered after a conversation with the person.
    overrideReason: payment.amount < 0 ? 'Underspend recovered' : 'Amount paid',
    account: [reference('Account', payment.budgetId)],
    // The signed-off request the payment settles.
    ...(payment.requestId !== undefined ? { supportingInformation: [reference('Task', payment.requestId)] } : {}),
  };
}

export function toFhir(entry: LedgerEntry, context: LedgerContext): ChargeItem {
  return entry.kind === 'spend' ? spendLineToFhir(entry.line, context) : paymentToFhir(entry.payment, context);
}

function spendLineFromFhir(item: ChargeItem): SpendLine {
  const planItem = extensionAt(item.extension, PLAN_ITEM_EXTENSION);
  const evidence = extensionAt(item.extension, EVIDENCE_EXTENSION);
  const misuse = extensionAt(item.extension, MISUSE_EXTENSION);
  return {
    id: resourceId(item),
    budgetId: referencedId(item.account?.[0], 'Account', '/account/0'),
    ...opt('itemId', planItem ? required(planItem.ext.valueString, `${planItem.at}/valueString`) : undefined),
    amount: pence(item.priceOverride, '/priceOverride'),
    category: codeFrom(item.code, 'spend-category', SPEND_CATEGORIES, '/code'),
    occurred: required(item.occurrenceDateTime, '/occurrenceDateTime'),
    ...opt('evidence', evidence ? required(evidence.ext.valueString, `${evidence.at}/valueString`) : undefined),
    ...opt('flaggedMisuse', misuse ? requireBoolean(misuse.ext.valueBoolean, `${misuse.at}/valueBoolean`) : undefined),
  };
}

function paymentFromFhir(item: ChargeItem): Payment {
  const request = item.supportingInformation?.[0];
  return {
    id: resourceId(item),
    budgetId: referencedId(item.account?.[0], 'Account', '/account/0'),
    ...opt('requestId', request ? referencedId(request, 'Task', '/supportingInformation/0') : undefined),
    amount: pence(item.priceOverride, '/priceOverride'),
    paid: required(item.occurrenceDateTime, '/occurrenceDateTime'),
    managementOption: codeFrom(item.code, 'management-option', MANAGEMENT_OPTIONS, '/code'),
  };
}

export function fromFhir(item: ChargeItem): LedgerEntry {
  const systems = item.code.coding?.map((c) => c.system) ?? [];
  if (systems.includes(SYSTEMS.codeSystem('spend-category'))) return { kind: 'spend', line: spendLineFromFhir(item) };
  if (systems.includes(SYSTEMS.codeSystem('management-option')))
    return { kind: 'payment', payment: paymentFromFhir(item) };
  throw new DomainError('/code', '/code must be a spend category (a spend line) or a management option (a payment)');
}
