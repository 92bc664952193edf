import type { ChargeItem, DocumentReference } from 'fhir/r4.js';
import type { ManagementOption, SpendCategory } from '../../domain/codes.js';
import { DomainError } from '../../domain/errors.js';
import { advance, requireReached } from '../../domain/journey.js';
import { checkPayment, financialAudit, PAID_TO_PERSON, recordSpend, recoverUnderspend } from '../../domain/ledger.js';
import type { Agreement, SpendLine } from '../../domain/model.js';
import { recordPayment } from '../../domain/signoff/decisions.js';
import * as chargeItem from '../../fhir/chargeItem.js';
import * as documentReference from '../../fhir/documentReference.js';
import * as episodeOfCare from '../../fhir/episodeOfCare.js';
import * as provenance from '../../fhir/provenance.js';
import * as task from '../../fhir/task.js';
import { forbidden } from '../../outcome/errors.js';
import { createKeyed, idOf } from './common.js';
import { expectVersion, type ApiRoute, type Ctx, type ReadRoute, type Result, type WriteRoute } from './http.js';
import { JOURNEY, records } from './journeyRoutes.js';
import { Tx, newId } from '../tx.js';

/** Steps 5 and 6 for the money: the agreement, payments, spend with evidence, and the financial audit. */

async function ledgerEntry(ctx: Ctx, ref: string): Promise<{ entry: chargeItem.LedgerEntry; version: string }> {
  const stored = await ctx.store.read<ChargeItem>('ChargeItem', idOf(ref, 'ChargeItem'));
  return { entry: chargeItem.fromFhir(stored), version: stored.meta?.versionId ?? '' };
}

async function presentPayment(ctx: Ctx, ref: string): Promise<Result> {
  const { entry, version } = await ledgerEntry(ctx, ref);
  if (entry.kind !== 'payment') throw new Error('expected a payment');
  return { status: 201, body: entry.payment, version };
}

async function presentSpend(ctx: Ctx, ref: string, status: number): Promise<Result> {
  const { entry, version } = await ledgerEntry(ctx, ref);
  if (entry.kind !== 'spend') throw new Error('expected a spend line');
  return { status, body: { ...entry.line, version }, version };
}

const agreementRoute: WriteRoute<{ text: string; signed?: string }> = {
  method: 'post',
  path: `${JOURNEY}/direct-payment-agreement`,
  resource: 'DocumentReference',
  interaction: 'create',
  tag: '5 Organising care and support',
  summary:
    'The person (or their representative) signs the direct payment agreement: the words kept verbatim, the signing as Provenance',
  request: 'AgreementInput',
  response: 'Agreement',
  status: 201,
  activity: 'CREATE',
  example: { text: 'I agree to spend my direct payment on the items in my plan and to keep receipts.' },
  async write(ctx, body) {
    const caller = ctx.caller;
    if (caller.kind !== 'person')
      throw forbidden(
        'The direct payment agreement is signed by the person or their representative, in their own account',
      );
    const set = await records(ctx).all(ctx.param('journeyId'));
    requireReached(set.journey.value, 'plan-agreed', 'signing the direct payment agreement');
    if (!set.budget || !PAID_TO_PERSON.some((o) => set.budget?.value.split[o] !== undefined)) {
      throw new DomainError(
        '',
        'the budget pays nothing to the person (direct payment or managed account), so there is no agreement to sign',
        'business-rule',
      );
    }
    if (set.agreement)
      throw new DomainError('', `the agreement was already signed on ${set.agreement.signed}`, 'business-rule');
    const agreement: Agreement = {
      id: newId(),
      journeyId: set.journey.value.id,
      budgetHolderId: ctx.holderId,
      signedBy: caller.role === 'budget-holder' ? ctx.holderId : (caller.fhirUser.split('/')[1] ?? ''),
      signed: body.signed ?? ctx.now,
      text: body.text,
    };
    const tx = new Tx();
    const primary = createKeyed(tx, ctx, documentReference.toFhir(agreement));
    // The signing is its own Provenance (its own id), pointing at the document.
    tx.create({ ...provenance.toFhir({ kind: 'agreement', agreement }), id: newId() });
    return { tx, primary };
  },
  async present(ctx, ref) {
    const stored = await ctx.store.read<DocumentReference>('DocumentReference', idOf(ref, 'DocumentReference'));
    return { status: 201, body: documentReference.fromFhir(stored), version: stored.meta?.versionId ?? '' };
  },
};

const paymentRoute: WriteRoute<{
  requestId?: string;
  amount: number;
  managementOption?: ManagementOption;
  paid?: string;
}> = {
  method: 'post',
  path: `${JOURNEY}/payments`,
  resource: 'ChargeItem',
  interaction: 'create',
  tag: '5 Organising care and support',
  summary:
    'Record a payment: settling a signed-off request (its turnaround ends here), or a scheduled payment of an ongoing budget',
  request: 'PaymentInput',
  response: 'Payment',
  status: 201,
  activity: 'CREATE',
  example: { requestId: 'matrix-unknown-request', amount: 42000 },
  async write(ctx, body) {
    const set = await records(ctx).all(ctx.param('journeyId'));
    requireReached(set.journey.value, 'plan-agreed', 'a payment');
    if (!set.budget) throw new DomainError('', 'the journey has no budget', 'business-rule');
    const request = body.requestId !== undefined ? set.requests.find((r) => r.value.id === body.requestId) : undefined;
    if (body.requestId !== undefined && !request)
      throw new DomainError('/requestId', '/requestId: no such spend request in this journey');
    const paid = body.paid ?? ctx.now;
    const payment = checkPayment(
      {
        id: newId(),
        amount: body.amount,
        paid,
        ...(body.managementOption ? { managementOption: body.managementOption } : {}),
        ...(request ? { request: request.value } : {}),
      },
      {
        budget: set.budget.value,
        payments: set.payments,
        ...(set.plan ? { plan: set.plan.value } : {}),
        ...(set.agreement ? { agreement: set.agreement } : {}),
      },
    );
    const tx = new Tx();
    const primary = createKeyed(
      tx,
      ctx,
      chargeItem.toFhir({ kind: 'payment', payment }, { budgetHolderId: ctx.holderId }),
    );
    if (request) tx.update(task.toFhir(recordPayment(request.value, paid)), request.version);
    const moved = advance(set.journey.value, 'active');
    if (moved !== set.journey.value)
      tx.update(
        episodeOfCare.toFhir(moved) as ReturnType<typeof episodeOfCare.toFhir> & { id: string },
        set.journey.version,
      );
    return { tx, primary };
  },
  present: presentPayment,
};

const spendRoute: WriteRoute<{
  itemId?: string;
  amount: number;
  category: SpendCategory;
  occurred: string;
  evidence?: string;
}> = {
  method: 'post',
  path: `${JOURNEY}/spend`,
  resource: 'ChargeItem',
  interaction: 'create',
  tag: '5 Organising care and support',
  summary:
    'Record money spent, against a plan item, with its evidence; restricted or disallowed spend is recorded and flagged for audit',
  request: 'SpendInput',
  response: 'SpendLine',
  status: 201,
  activity: 'CREATE',
  example: {
    itemId: 'laptop',
    amount: 42000,
    category: 'it-equipment',
    occurred: '2026-01-22',
    evidence: 'Receipt 44120',
  },
  async write(ctx, body) {
    const set = await records(ctx).all(ctx.param('journeyId'));
    requireReached(set.journey.value, 'plan-agreed', 'recording spend');
    if (!set.budget) throw new DomainError('', 'the journey has no budget', 'business-rule');
    const line: SpendLine = recordSpend(
      {
        id: newId(),
        budgetId: set.budget.value.id,
        amount: body.amount,
        category: body.category,
        occurred: body.occurred,
        ...(body.itemId !== undefined ? { itemId: body.itemId } : {}),
        ...(body.evidence !== undefined ? { evidence: body.evidence } : {}),
      },
      set.plan?.value,
    );
    const tx = new Tx();
    return {
      tx,
      primary: createKeyed(tx, ctx, chargeItem.toFhir({ kind: 'spend', line }, { budgetHolderId: ctx.holderId })),
    };
  },
  present: (ctx, ref) => presentSpend(ctx, ref, 201),
};

const flagRoute: WriteRoute<{ flaggedMisuse: boolean }> = {
  method: 'post',
  path: `${JOURNEY}/spend/:lineId/audit-flag`,
  resource: 'ChargeItem',
  interaction: 'update',
  tag: '6 Monitoring and review',
  summary: 'Financial audit: flag a spend line as possible misuse, or clear it',
  request: 'MisuseFlagInput',
  response: 'SpendLine',
  status: 200,
  activity: 'UPDATE',
  ifMatch: 'the spend line',
  example: { flaggedMisuse: true },
  async write(ctx, body) {
    const set = await records(ctx).all(ctx.param('journeyId'));
    const line = set.spend.find((s) => s.value.id === ctx.param('lineId'));
    if (!line) throw new DomainError('', 'no such spend line in this journey', 'business-rule');
    const tx = new Tx();
    const updated = chargeItem.toFhir(
      { kind: 'spend', line: { ...line.value, flaggedMisuse: body.flaggedMisuse } },
      { budgetHolderId: ctx.holderId },
    );
    return { tx, primary: tx.update({ ...updated, id: line.value.id }, expectVersion(ctx, line.version)) };
  },
  present: (ctx, ref) => presentSpend(ctx, ref, 200),
};

const auditRoute: ReadRoute = {
  method: 'get',
  path: `${JOURNEY}/financial-audit`,
  resource: 'ChargeItem',
  interaction: 'search',
  tag: '6 Monitoring and review',
  summary: 'Financial audit of the budget: paid, spent (per option), underspend, recovered, misuse flagged',
  response: 'FinancialAudit',
  async run(ctx) {
    const set = await records(ctx).all(ctx.param('journeyId'));
    if (!set.budget) throw new DomainError('', 'the journey has no budget', 'business-rule');
    return {
      status: 200,
      body: financialAudit(
        set.budget.value,
        set.plan?.value,
        set.payments,
        set.spend.map((s) => s.value),
      ),
    };
  },
};

const recoveryRoute: WriteRoute<{ amount: number; managementOption: ManagementOption; agreed: string }> = {
  method: 'post',
  path: `${JOURNEY}/underspend-recoveries`,
  resource: 'ChargeItem',
  interaction: 'create',
  tag: '6 Monitoring and review',
  summary: 'Recover an underspend once agreed with the person: booked as money paid back, never more than is unspent',
  request: 'RecoveryInput',
  response: 'Payment',
  status: 201,
  activity: 'CREATE',
  example: { amount: 25000, managementOption: 'direct-payment', agreed: '2026-12-01T10:00:00Z' },
  async write(ctx, body) {
    const set = await records(ctx).all(ctx.param('journeyId'));
    if (!set.budget) throw new DomainError('', 'the journey has no budget', 'business-rule');
    const audit = financialAudit(
      set.budget.value,
      set.plan?.value,
      set.payments,
      set.spend.map((s) => s.value),
    );
    const recovery = recoverUnderspend({ id: newId(), ...body }, set.budget.value, audit);
    const tx = new Tx();
    return {
      tx,
      primary: createKeyed(
        tx,
        ctx,
        chargeItem.toFhir({ kind: 'payment', payment: recovery }, { budgetHolderId: ctx.holderId }),
      ),
    };
  },
  present: presentPayment,
};

export const MONEY_ROUTES: ApiRoute[] = [
  agreementRoute as WriteRoute<never>,
  paymentRoute as WriteRoute<never>,
  spendRoute as WriteRoute<never>,
  flagRoute as WriteRoute<never>,
  auditRoute,
  recoveryRoute as WriteRoute<never>,
];
