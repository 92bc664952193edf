import type { CarePlan, Task } from 'fhir/r4.js';
import { isCode, SIGN_OFF_ROLES } from '../../domain/codes.js';
import { DomainError } from '../../domain/errors.js';
import { requireReached } from '../../domain/journey.js';
import type { SpendRequest } from '../../domain/model.js';
import { checkItemRequestable, withItemStatus } from '../../domain/plan.js';
import { appealDecline, recordDecision, submitRequest } from '../../domain/signoff/decisions.js';
import * as careplan from '../../fhir/careplan.js';
import * as provenance from '../../fhir/provenance.js';
import * as task from '../../fhir/task.js';
import { forbidden } from '../../outcome/errors.js';
import { createKeyed, idOf, staffCaller } from './common.js';
import { expectVersion, type ApiRoute, type Ctx, type ReadRoute, type Result, type WriteRoute } from './http.js';
import { JOURNEY, records } from './journeyRoutes.js';
import { practitionerOf, type Versioned } from './records.js';
import { Tx, newId } from '../tx.js';
import { requestView } from './views.js';

/** Step 5: spend requests and their proportionate sign-off (DESIGN section 4). */

const REQUEST = `${JOURNEY}/spend-requests/:requestId`;

async function presentRequest(ctx: Ctx, ref: string, status: number): Promise<Result> {
  const stored = await ctx.store.read<Task>('Task', idOf(ref, 'Task'));
  const version = stored.meta?.versionId ?? '';
  return { status, body: requestView({ value: task.fromFhir(stored), version }), version };
}

/** The plan's item follows the request; written in the same transaction, at the plan version read. */
async function withPlanItem(ctx: Ctx, tx: Tx, request: SpendRequest): Promise<void> {
  const stored = await ctx.store.read<CarePlan>('CarePlan', request.planId);
  const plan = careplan.fromFhir(stored);
  const next = withItemStatus(plan, request);
  if (next !== plan) tx.update(careplan.toFhir(next), stored.meta?.versionId ?? '');
}

const submit: WriteRoute<{ itemId: string; submitted?: string }> = {
  method: 'post',
  path: `${JOURNEY}/spend-requests`,
  resource: 'Task',
  interaction: 'create',
  tag: '5 Organising care and support',
  summary:
    'Ask for a plan item to be signed off: the policy names who must sign, or refuses it with the reason and alternatives (national restrictions, item limits)',
  request: 'SpendRequestInput',
  response: 'SpendRequest',
  status: 201,
  activity: 'CREATE',
  example: { itemId: 'laptop' },
  async write(ctx, body) {
    const caller = staffCaller(ctx.caller);
    const set = await records(ctx).all(ctx.param('journeyId'));
    requireReached(set.journey.value, 'planning', 'a spend request');
    if (!set.plan) throw new DomainError('', 'the journey has no plan yet', 'business-rule');
    const item = checkItemRequestable(
      set.plan.value,
      body.itemId,
      set.requests.map((r) => r.value),
    );
    const request = submitRequest(ctx.deps.policy, {
      id: newId(),
      journeyId: set.journey.value.id,
      budgetHolderId: ctx.holderId,
      planId: set.plan.value.id,
      itemId: item.id,
      amount: item.cost,
      category: item.category,
      kind: set.journey.value.kind,
      submittedBy: await practitionerOf(ctx.store, caller.practitionerRoleId),
      submitted: body.submitted ?? ctx.now,
    });
    const tx = new Tx();
    const primary = createKeyed(tx, ctx, task.toFhir(request));
    const plan = withItemStatus(set.plan.value, request);
    if (plan !== set.plan.value) tx.update(careplan.toFhir(plan), set.plan.version);
    return { tx, primary };
  },
  present: (ctx, ref) => presentRequest(ctx, ref, 201),
};

const readRequest: ReadRoute = {
  method: 'get',
  path: REQUEST,
  resource: 'Task',
  interaction: 'read',
  tag: '5 Organising care and support',
  summary: 'A spend request: who must sign, the decisions so far, and its turnaround (request -> decision -> payment)',
  response: 'SpendRequest',
  exampleRefused: true,
  async run(ctx) {
    const request = await records(ctx).request(ctx.param('journeyId'), ctx.param('requestId'));
    return { status: 200, body: requestView(request), version: request.version };
  },
};

async function openRequest(ctx: Ctx): Promise<{ request: Versioned<SpendRequest>; version: string }> {
  const journeyId = ctx.param('journeyId');
  const request = await records(ctx).request(journeyId, ctx.param('requestId'));
  return { request, version: expectVersion(ctx, request.version) };
}

interface DecisionBody {
  outcome: 'approve' | 'decline';
  rationale: string;
  alternatives?: string;
  time?: string;
}

const decide: WriteRoute<DecisionBody> = {
  method: 'post',
  path: `${REQUEST}/decisions`,
  resource: 'Task',
  interaction: 'update',
  tag: '5 Organising care and support',
  summary:
    "Decide a spend request in the caller's own role (from the access token): named decision-maker, role, time, rationale; a decline needs alternatives",
  request: 'DecisionInput',
  response: 'SpendRequest',
  status: 201,
  activity: 'UPDATE',
  ifMatch: 'the spend request (two signers deciding at once: one stands, the other gets 409)',
  example: { outcome: 'approve', rationale: 'Meets the goal in the plan' },
  async write(ctx, body) {
    const caller = staffCaller(ctx.caller);
    if (!isCode(SIGN_OFF_ROLES, caller.role)) throw forbidden(`The ${caller.role} role does not sign off spend`);
    const { request, version } = await openRequest(ctx);
    const decision = {
      role: caller.role,
      decidedBy: await practitionerOf(ctx.store, caller.practitionerRoleId),
      outcome: body.outcome,
      time: body.time ?? ctx.now,
      rationale: body.rationale,
      ...(body.alternatives !== undefined ? { alternatives: body.alternatives } : {}),
    };
    const decided = recordDecision(request.value, decision, ctx.deps.policy);
    const tx = new Tx();
    const primary = tx.update(task.toFhir(decided), version);
    const recorded = decided.decisions[decided.decisions.length - 1] ?? decision;
    tx.create(provenance.toFhir({ kind: 'sign-off', id: newId(), requestId: decided.id, decision: recorded }));
    await withPlanItem(ctx, tx, decided);
    return { tx, primary };
  },
  present: (ctx, ref) => presentRequest(ctx, ref, 201),
};

const appeal: WriteRoute<{ reason: string; time?: string }> = {
  method: 'post',
  path: `${REQUEST}/appeals`,
  resource: 'Task',
  interaction: 'update',
  tag: '5 Organising care and support',
  summary:
    'Appeal a declined request (the person, their representative, or staff for them): the same roles decide afresh',
  request: 'AppealInput',
  response: 'SpendRequest',
  status: 201,
  activity: 'UPDATE',
  ifMatch: 'the spend request',
  example: { reason: 'The alternatives offered do not meet my goal' },
  async write(ctx, body) {
    const { request, version } = await openRequest(ctx);
    const caller = ctx.caller;
    const appealedBy =
      caller.kind === 'staff'
        ? await practitionerOf(ctx.store, caller.practitionerRoleId)
        : caller.kind === 'system'
          ? caller.clientId
          : (caller.fhirUser.split('/')[1] ?? caller.patientId);
    const reopened = appealDecline(request.value, { appealedBy, time: body.time ?? ctx.now, reason: body.reason });
    const tx = new Tx();
    const primary = tx.update(task.toFhir(reopened), version);
    await withPlanItem(ctx, tx, reopened);
    return { tx, primary };
  },
  present: (ctx, ref) => presentRequest(ctx, ref, 201),
};

export const SIGNOFF_ROUTES: ApiRoute[] = [
  submit as WriteRoute<never>,
  readRequest,
  decide as WriteRoute<never>,
  appeal as WriteRoute<never>,
];
