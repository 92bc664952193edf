import { createHash } from 'node:crypto';
import type {
  Bundle,
  BundleEntry,
  CarePlan,
  EpisodeOfCare,
  FhirResource,
  Goal,
  Organization,
  OperationOutcome,
  Patient,
} from 'fhir/r4.js';
import { withProvenance } from '../../audit/provenance.js';
import { grantAndScope } from '../../auth/authorize.js';
import type { Caller } from '../../auth/caller.js';
import { currentAccess } from '../../auth/guard.js';
import type { Interaction } from '../../auth/scopes.js';
import { refer } from '../../domain/journey.js';
import type { Organisation } from '../../domain/model.js';
import { resourcesOf } from '../../fhir/bundle.js';
import { SYSTEMS } from '../../fhir/common.js';
import { importTransaction, newHolder, readEhrBundle, withGoals, type EhrSubmission } from '../../fhir/ehrImport.js';
import * as episodeOfCare from '../../fhir/episodeOfCare.js';
import { journeyFrom } from '../../fhir/extensionValues.js';
import * as goal from '../../fhir/goal.js';
import * as organization from '../../fhir/organization.js';
import * as patient from '../../fhir/patient.js';
import { AppError, badRequest, forbidden, isStoreConflict, type Issue } from '../../outcome/errors.js';
import type { FhirStore } from '../../store/fhirStore.js';
import type { ProtectedRoute, RouteDeps } from '../route.js';
import { newId, Tx } from '../tx.js';
import { weakEtag } from '../../util/etag.js';

/**
 * `POST /fhir` with a transaction or document Bundle from a secondary care EHR (mappings/ehr-import.md):
 * the person found by NHS number (or recorded, with a referral), the goals stored under the
 * sender's own identifiers (a re-send updates them) and added to the open journey's plan, or a
 * referral started when there is no open journey. Every resource to be stored is checked against
 * our profiles by HAPI first; if any fails, nothing is stored and the answer (422) names the
 * entry of the sent Bundle. One transaction writes everything, with its Provenance.
 */

/** What an import may write, besides the Bundle row the guard checked: the caller's rows must allow each. */
const WRITES: readonly [string, Interaction][] = [
  ['Goal', 'create'],
  ['Goal', 'update'],
  ['CarePlan', 'create'],
  ['CarePlan', 'update'],
  ['Patient', 'create'],
  ['EpisodeOfCare', 'create'],
];
const CLOSED_STAGES = new Set(['closed', 'not-eligible']);

interface ToCheck {
  entry: number;
  resource: FhirResource;
  profile?: string;
}

function journeyOf(resource: { resourceType: string; extension?: CarePlan['extension'] }): string | undefined {
  try {
    return journeyFrom(resource.extension, resource.resourceType);
  } catch {
    return undefined; // not part of a PHB journey
  }
}

/** HAPI's $validate for each resource, in parallel; every error is reported against the entry it came from. */
async function check(store: FhirStore, list: ToCheck[]): Promise<Issue[]> {
  const outcomes: OperationOutcome[] = await Promise.all(list.map((c) => store.validate(c.resource, c.profile)));
  return list.flatMap((c, i) =>
    (outcomes[i]?.issue ?? [])
      .filter((x) => x.severity === 'error' || x.severity === 'fatal')
      .map((x) => ({
        code: 'invalid' as const,
        diagnostics: `Bundle.entry[${c.entry}] (${c.resource.resourceType}${c.profile ? `, profile ${c.profile}` : ''}): ${x.diagnostics ?? 'invalid'}`,
        location: `Bundle.entry[${c.entry}].resource`,
      })),
  );
}

/** The managing organisation of a referral, as the /api/v1 referral records it: found by ODS code, or recorded now. */
async function managingOrganisation(store: FhirStore, deps: RouteDeps, tx: Tx): Promise<string> {
  const org = deps.policy.organisation;
  const search: Record<string, string> =
    org.odsCode !== undefined ? { identifier: `${SYSTEMS.odsOrganisation}|${org.odsCode}` } : { name: org.name };
  const known = resourcesOf<Organization>(
    await store.search<Organization>('Organization', { ...search, _count: 1 }),
    'Organization',
  )[0];
  if (known?.id) return known.id;
  const icb: Organisation = {
    id: newId(),
    name: org.name,
    kind: 'icb',
    ...(org.odsCode !== undefined ? { odsCode: org.odsCode } : {}),
  };
  tx.create(organization.toFhir(icb));
  return icb.id;
}

/** A referral for the person: the journey starts at `referred`, with no lead until the team picks it up. */
async function referral(
  store: FhirStore,
  deps: RouteDeps,
  tx: Tx,
  patientId: string,
  submission: EhrSubmission,
  toCheck: ToCheck[],
): Promise<void> {
  const managingOrganisationId = await managingOrganisation(store, deps, tx);
  // The sender says nothing about the kind of budget or the cohort: one-off, cohort `other`, until eligibility is decided.
  const journey = refer({
    id: newId(),
    budgetHolderId: patientId,
    kind: 'one-off',
    cohort: 'other',
    managingOrganisationId,
    start: new Date().toISOString().slice(0, 10),
  });
  const resource = episodeOfCare.toFhir(journey);
  tx.create(resource);
  toCheck.push({ entry: submission.patient.entry, resource, profile: episodeOfCare.PROFILE });
}

/** The person lock's key: a digest of the NHS number (the record names no one). */
function personLockKey(nhsNumber: string): string {
  return createHash('sha256').update(`ehr-import-person\n${nhsNumber}`).digest('hex').slice(0, 48);
}

/**
 * Finds or records the person, starts a referral when they have no open journey, and writes the
 * sender's goals (and plan links) in one transaction, with the person lock's release in it.
 */
async function storeSubmission(
  store: FhirStore,
  deps: RouteDeps,
  caller: Caller,
  submission: EhrSubmission,
  release: BundleEntry,
): Promise<{ patientId: string; result: Bundle; sent: number }> {
  const found = await store.search<Patient>('Patient', {
    identifier: `${SYSTEMS.nhsNumber}|${submission.nhsNumber}`,
    _count: 2,
  });
  const people = resourcesOf<Patient>(found, 'Patient');
  if (people.length > 1) {
    throw new AppError(422, {
      code: 'multiple-matches',
      diagnostics: 'More than one person holds this NHS number here; the records must be merged first',
      location: `Bundle.entry[${submission.patient.entry}].resource.identifier`,
    });
  }
  const tx = new Tx();
  const toCheck: ToCheck[] = [];
  const known = people[0];
  let patientId: string;
  let plan: (CarePlan & { id: string }) | undefined;
  if (known?.id) {
    patientId = known.id;
    const [journeys, plans] = await Promise.all([
      store.search<EpisodeOfCare>('EpisodeOfCare', { patient: `Patient/${patientId}`, _count: 100 }),
      store.search<CarePlan>('CarePlan', { subject: `Patient/${patientId}`, _count: 100 }),
    ]);
    const open = resourcesOf<EpisodeOfCare>(journeys, 'EpisodeOfCare')
      .filter((e) => {
        try {
          return !CLOSED_STAGES.has(episodeOfCare.fromFhir(e).stage);
        } catch {
          return false; // not a PHB journey
        }
      })
      .sort((a, b) => (b.period?.start ?? '').localeCompare(a.period?.start ?? ''))[0];
    if (open?.id) {
      const current = resourcesOf<CarePlan>(plans, 'CarePlan').find(
        (p) => journeyOf(p) === open.id && p.status !== 'revoked',
      );
      if (current?.id) plan = { ...current, id: current.id };
    } else {
      await referral(store, deps, tx, patientId, submission, toCheck);
    }
  } else {
    // Someone new: recorded with a client-chosen id, so the sender's goals can be keyed on them in the same transaction.
    patientId = newId();
    const { holder, issues: missing } = newHolder(submission, patientId);
    if (!holder) throw new AppError(422, missing);
    const resource = { ...patient.toFhir(holder), id: patientId };
    tx.put(resource);
    toCheck.push({ entry: submission.patient.entry, resource, profile: patient.PROFILE });
    await referral(store, deps, tx, patientId, submission, toCheck);
  }

  const imported = importTransaction(patientId, submission);
  const goalEntries = (imported.entry ?? []).filter((e) => e.resource?.resourceType === 'Goal');
  goalEntries.forEach((e, i) => {
    const entry = submission.goals[i]?.entry ?? 0;
    if (e.resource) toCheck.push({ entry, resource: e.resource, profile: goal.PROFILE });
  });
  const planEntry = (imported.entry ?? []).find((e) => e.resource?.resourceType === 'CarePlan');
  // The sender's own plan is theirs, not a PHB plan: base R4 only.
  if (planEntry?.resource && submission.carePlan)
    toCheck.push({ entry: submission.carePlan.entry, resource: planEntry.resource });

  let linked: BundleEntry | undefined;
  if (plan) {
    // Goals stored before are listed by id; new ones by their placeholder, which HAPI resolves in the transaction.
    const ids = submission.goals
      .map((g) => g.goal.sourceIdentifiers[0])
      .filter((x) => x !== undefined)
      .map((x) => `${x.system}|${x.value}`);
    const before = resourcesOf<Goal>(
      await store.search<Goal>('Goal', { patient: `Patient/${patientId}`, identifier: ids.join(','), _count: 200 }),
      'Goal',
    );
    const refs = goalEntries.map((e, i) => {
      const key = ids[i];
      const stored = before.find((g) => g.identifier?.some((x) => `${x.system ?? ''}|${x.value ?? ''}` === key));
      return stored?.id ? `Goal/${stored.id}` : (e.fullUrl ?? '');
    });
    const updated = withGoals(plan, refs);
    if (updated) {
      const { meta, ...rest } = updated;
      linked = {
        resource: { ...rest, ...(meta?.profile ? { meta: { profile: meta.profile } } : {}) },
        request: {
          method: 'PUT',
          url: `CarePlan/${plan.id}`,
          ...(meta?.versionId ? { ifMatch: weakEtag(meta.versionId) } : {}),
        },
      };
    }
  }

  const invalid = await check(store, toCheck);
  if (invalid.length > 0) throw new AppError(422, invalid);

  const entries = [...(tx.bundle().entry ?? []), ...(imported.entry ?? []), ...(linked ? [linked] : [])];
  let result: Bundle;
  try {
    const written = withProvenance({ resourceType: 'Bundle', type: 'transaction', entry: entries }, caller, 'CREATE');
    result = await store.transaction({ ...written, entry: [...(written.entry ?? []), release] });
  } catch (e) {
    if (isStoreConflict(e)) {
      throw new AppError(409, {
        code: 'conflict',
        diagnostics: "The person's plan changed while the goals were being stored; send the Bundle again",
      });
    }
    throw e;
  }
  return { patientId, result, sent: entries.length };
}

export const EHR_IMPORT_ROUTE: ProtectedRoute = {
  face: 'fhir',
  method: 'post',
  path: '/',
  resource: 'Bundle',
  interaction: 'create',
  system: 'transaction',
  reachPerPatient: true,
  patient: () => undefined,
  urlFor: () => '/fhir',
  // A Bundle whose Patient has no NHS number: the guard's answer is what the example shows.
  bodyFor: () => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ fullUrl: 'urn:uuid:0b7f3c52-4a0e-4a51-9a3e-6c1d2e3f4a5b', resource: { resourceType: 'Patient' } }],
  }),
  exampleRefused: true,
  handle: async (store, req, res, deps) => {
    const access = currentAccess();
    const { caller } = access;
    for (const [type, interaction] of WRITES) {
      const decision = grantAndScope(caller, type, interaction);
      if (!decision.allowed) throw forbidden(decision.reason);
    }
    const body = req.body as Bundle | undefined;
    if (typeof body !== 'object' || body === null || body.resourceType !== 'Bundle')
      throw badRequest('The body must be a Bundle of type transaction or document', 'Bundle');
    const { submission, issues } = readEhrBundle(body);
    if (!submission) throw new AppError(422, issues);

    // One Bundle per person at a time, whoever sends it: finding the person (or recording them)
    // and writing their goals must not interleave with another Bundle for them.
    const words = { busy: 'Another Bundle for this person is being stored: send this one again in a few seconds' };
    const hold = await deps.idempotency.lock(personLockKey(submission.nhsNumber), words);
    let stored: { patientId: string; result: Bundle; sent: number };
    try {
      stored = await storeSubmission(store, deps, caller, submission, deps.idempotency.releaseEntry(hold));
    } catch (e) {
      throw await deps.idempotency.afterFailure(hold, e, words);
    }
    const { patientId, result, sent } = stored;
    access.audit(patientId, 'success');
    const response: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction-response',
      entry: (result.entry ?? []).slice(0, sent).map((e) => ({
        response: {
          status: e.response?.status ?? '200 OK',
          ...(e.response?.location ? { location: e.response.location } : {}),
        },
      })),
    };
    res.status(200).type('application/fhir+json').json(response);
  },
};
