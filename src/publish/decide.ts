import type {
  Bundle,
  CarePlan,
  Composition,
  Consent,
  Coverage,
  FhirResource,
  Goal,
  Observation,
  Patient,
} from 'fhir/r4.js';
import type { Destination, PublishedKind } from '../config/destinations.js';
import type { Budget } from '../domain/model.js';
import { SYSTEMS } from '../fhir/common.js';
import { resourcesOf } from '../fhir/bundle.js';
import { localPatientOf } from '../fhir/compartment.js';
import * as careplan from '../fhir/careplan.js';
import * as consent from '../fhir/consent.js';
import * as coverage from '../fhir/coverage.js';
import * as goal from '../fhir/goal.js';
import { mapped } from '../fhir/mapped.js';
import { isScore } from '../fhir/observation.js';
import * as planDocument from '../fhir/planDocument.js';
import type { FhirStore } from '../store/fhirStore.js';
import type { Change } from './feed.js';
import {
  documentIdentifier,
  documentNotification,
  outboundCopy,
  outboundDocument,
  patientReference,
  planDocumentIdentifier,
  publishedIdentifier,
  type PersonAtDestination,
} from './outbound.js';
import { ID_PATTERN } from '../domain/ids.js';

/**
 * What one change means for one destination: nothing, some writes, or a change that cannot be
 * published as it stands. Decided from what HAPI holds now (the newest version, the person's
 * consent now), so a late retry never sends something the person has since withdrawn.
 */

export interface Identifier {
  system: string;
  value: string;
}

export type Action =
  | { op: 'upsert'; body: FhirResource; identifier: Identifier }
  | { op: 'remove'; resourceType: string; identifier: Identifier };

export type Decision =
  { kind: 'skip'; why: string } | { kind: 'send'; actions: Action[] } | { kind: 'unprocessable'; message: string };

/** The kinds whose history each kind of destination follows. */
export const FEED_TYPES: Record<Destination['kind'], readonly string[]> = {
  phr: ['Consent', 'CarePlan', 'Goal', 'Coverage', 'QuestionnaireResponse', 'Observation'],
  gp: ['Bundle'],
};

/** A Composition's subject: a Patient reference, relative or absolute. */
const PATIENT_LITERAL = new RegExp(String.raw`^(?:.*/)?Patient/(${ID_PATTERN})$`);

const skip = (why: string): Decision => ({ kind: 'skip', why });

class Unprocessable extends Error {}

function unrenderable(what: string): (reason: string) => Unprocessable {
  return (reason) => new Unprocessable(`${what} cannot be rendered: ${reason}`);
}

/** Decisions for one destination, with what they read cached for one pass of the feed. */
export class Planner {
  private readonly consents = new Map<string, boolean>();
  private readonly people = new Map<string, Patient | undefined>();

  constructor(
    private readonly store: FhirStore,
    private readonly destination: Destination,
  ) {}

  async decide(change: Change): Promise<Decision> {
    try {
      return this.destination.kind === 'gp' ? await this.decideGp(change) : await this.decidePhr(change);
    } catch (e) {
      if (e instanceof Unprocessable) return { kind: 'unprocessable', message: e.message };
      throw e;
    }
  }

  private accepts(kind: PublishedKind): boolean {
    return this.destination.accepts.includes(kind);
  }

  private removes(kind: PublishedKind): boolean {
    return this.destination.removes.includes(kind);
  }

  /** The resource as changed, or for a delete the version before it (to know whose it was). */
  private async subjectResource(change: Change): Promise<FhirResource | undefined> {
    if (change.resource) return change.resource;
    const history = await this.store.history({ resourceType: change.resourceType, id: change.id, count: 5 });
    return (history.entry ?? []).find((e) => e.resource)?.resource;
  }

  private async consentActive(patientId: string, fresh = false): Promise<boolean> {
    if (!fresh && this.consents.has(patientId)) return this.consents.get(patientId) as boolean;
    const consents = resourcesOf<Consent>(
      await this.store.search<Consent>('Consent', consent.consentDecisionSearch(patientId)),
      'Consent',
    );
    const active = consent.consentGrants(consents, patientId, this.destination.id);
    this.consents.set(patientId, active);
    return active;
  }

  private async patient(patientId: string): Promise<Patient | undefined> {
    if (this.people.has(patientId)) return this.people.get(patientId);
    const found = await this.store.readIfExists<Patient>('Patient', patientId);
    this.people.set(patientId, found);
    return found;
  }

  private person(patientId: string, patient: Patient | undefined): PersonAtDestination {
    const nhsNumber = patient?.identifier?.find((i) => i.system === SYSTEMS.nhsNumber)?.value;
    // The destination knows people by NHS number only.
    if (!nhsNumber) throw new Unprocessable('the person has no NHS number to be matched by at the destination');
    return { patientId, nhsNumber };
  }

  // ---- personal health records -------------------------------------------------------------

  private async decidePhr(change: Change): Promise<Decision> {
    const resource = await this.subjectResource(change);
    if (!resource) return skip('nothing left to read');
    const patientId = localPatientOf(resource);
    if (patientId === undefined) return skip('about no patient');

    if (resource.resourceType === 'Consent') {
      let parsed;
      try {
        parsed = consent.fromFhir(resource as Consent);
      } catch {
        return skip('not a PHR consent');
      }
      if (parsed.recipient !== this.destination.id) return skip('consent for another recipient');
      // The decision follows the person's consents now, not this one version.
      if (await this.consentActive(patientId, true)) return this.backfill(patientId);
      // Withdrawn or refused: ask back what any earlier yes shared. A refusal from the start shared nothing.
      return (await this.everShared(patientId)) ? this.withdraw(patientId) : skip('never shared');
    }
    if (resource.resourceType === 'Observation' && !isScore(resource as Observation))
      return skip('not a questionnaire score');
    const kind = resource.resourceType as PublishedKind;

    if (!change.resource) {
      // Deleted here: remove it there where the destination allows removal.
      const actions: Action[] = [];
      if (this.removes(kind))
        actions.push({ op: 'remove', resourceType: kind, identifier: publishedIdentifier(kind, change.id) });
      if (kind === 'CarePlan' && this.removes('DocumentReference'))
        actions.push({
          op: 'remove',
          resourceType: 'DocumentReference',
          identifier: planDocumentIdentifier(change.id),
        });
      if ((kind === 'Goal' || kind === 'Coverage') && (await this.consentActive(patientId))) {
        actions.push(...(await this.planRenderings(patientId, this.person(patientId, await this.patient(patientId)))));
      }
      return actions.length ? { kind: 'send', actions } : skip('removal not accepted');
    }

    if (!(await this.consentActive(patientId))) return skip('no active consent');
    const person = this.person(patientId, await this.patient(patientId));
    const actions: Action[] = [];
    if (this.accepts(kind))
      actions.push({
        op: 'upsert',
        body: outboundCopy(resource, person),
        identifier: publishedIdentifier(kind, change.id),
      });
    if (kind === 'CarePlan') actions.push(await this.planRendering(resource as CarePlan, person));
    else if (kind === 'Goal' || kind === 'Coverage') actions.push(...(await this.planRenderings(patientId, person)));
    return actions.length ? { kind: 'send', actions } : skip(`${kind} not accepted`);
  }

  private async planRendering(plan: CarePlan, person: PersonAtDestination): Promise<Action> {
    const pcsp = mapped(plan, careplan.fromFhir, unrenderable('the plan'));
    const goals = pcsp.goalIds.length
      ? resourcesOf<Goal>(
          await this.store.search<Goal>('Goal', { _id: pcsp.goalIds.join(','), _count: 200 }),
          'Goal',
        ).map((g) => mapped(g, goal.fromFhir, unrenderable('a goal')))
      : [];
    // A plan whose budget is not written yet still renders, without the budget section.
    const stored = await this.store.readIfExists<Coverage>('Coverage', pcsp.budgetId);
    const budget: Budget | undefined = stored
      ? mapped(stored, coverage.fromFhir, unrenderable('the budget'))
      : undefined;
    const subject = patientReference(person);
    return {
      op: 'upsert',
      body: planDocument.toFhir(pcsp, goals, budget, subject, planDocumentIdentifier(pcsp.id)),
      identifier: planDocumentIdentifier(pcsp.id),
    };
  }

  private async planRenderings(patientId: string, person: PersonAtDestination): Promise<Action[]> {
    const plans = resourcesOf<CarePlan>(
      await this.store.search<CarePlan>('CarePlan', { subject: `Patient/${patientId}`, _count: 200 }),
      'CarePlan',
    );
    const actions: Action[] = [];
    for (const plan of plans) actions.push(await this.planRendering(plan, person));
    return actions;
  }

  /** Everything the person's consent covers, sent when it becomes active (sending again changes nothing). */
  private async backfill(patientId: string): Promise<Decision> {
    const person = this.person(patientId, await this.patient(patientId));
    const actions: Action[] = [];
    for (const resource of await this.ownResources(patientId)) {
      const kind = resource.resourceType as PublishedKind;
      if (this.accepts(kind))
        actions.push({
          op: 'upsert',
          body: outboundCopy(resource, person),
          identifier: publishedIdentifier(kind, resource.id ?? ''),
        });
    }
    actions.push(...(await this.planRenderings(patientId, person)));
    return actions.length ? { kind: 'send', actions } : skip('nothing to publish yet');
  }

  /** Some version of this Consent was active for this destination. */
  /** Whether any of the person's decisions for this destination was ever a yes (each decision is its own Consent). */
  private async everShared(patientId: string): Promise<boolean> {
    const bundle = await this.store.search<Consent>('Consent', consent.consentDecisionSearch(patientId));
    const mine = consent
      .recordedDecisions(resourcesOf<Consent>(bundle, 'Consent'))
      .filter((d) => d.consent.recipient === this.destination.id);
    for (const d of mine) if (await this.wasShared(d.consent.id)) return true;
    return false;
  }

  private async wasShared(id: string): Promise<boolean> {
    const history = await this.store.history({ resourceType: 'Consent', id, count: 100 });
    return (history.entry ?? []).some((e) => {
      if (e.resource?.resourceType !== 'Consent') return false;
      try {
        const version = consent.fromFhir(e.resource);
        return version.status === 'active' && version.recipient === this.destination.id;
      } catch {
        return false;
      }
    });
  }

  /** Consent withdrawn: ask the destination to remove what it lets us remove. */
  private async withdraw(patientId: string): Promise<Decision> {
    const actions: Action[] = [];
    for (const resource of await this.ownResources(patientId)) {
      const kind = resource.resourceType as PublishedKind;
      if (this.removes(kind))
        actions.push({ op: 'remove', resourceType: kind, identifier: publishedIdentifier(kind, resource.id ?? '') });
      if (kind === 'CarePlan' && this.removes('DocumentReference'))
        actions.push({
          op: 'remove',
          resourceType: 'DocumentReference',
          identifier: planDocumentIdentifier(resource.id ?? ''),
        });
    }
    return actions.length ? { kind: 'send', actions } : skip('consent withdrawn; the destination accepts no removals');
  }

  private async ownResources(patientId: string): Promise<FhirResource[]> {
    const patient = `Patient/${patientId}`;
    const [plans, goals, budgets, responses, observations] = await Promise.all([
      this.store.search<CarePlan>('CarePlan', { subject: patient, _count: 200 }),
      this.store.search<Goal>('Goal', { subject: patient, _count: 200 }),
      this.store.search<Coverage>('Coverage', { beneficiary: patient, _count: 200 }),
      this.store.search('QuestionnaireResponse', { subject: patient, _count: 200 }),
      this.store.search<Observation>('Observation', { subject: patient, _count: 200 }),
    ]);
    return [
      ...resourcesOf<CarePlan>(plans, 'CarePlan'),
      ...resourcesOf<Goal>(goals, 'Goal'),
      ...resourcesOf<Coverage>(budgets, 'Coverage'),
      ...resourcesOf(responses, 'QuestionnaireResponse'),
      ...resourcesOf<Observation>(observations, 'Observation').filter(isScore),
    ];
  }

  // ---- GP systems ---------------------------------------------------------------------------

  private async decideGp(change: Change): Promise<Decision> {
    const gp = this.destination.gp;
    if (!gp || change.resourceType !== 'Bundle') return skip('not a document');
    const bundle = (await this.subjectResource(change)) as Bundle | undefined;
    if (!bundle || bundle.type !== 'document') return skip('not a document');
    const composition = bundle.entry?.[0]?.resource;
    if (composition?.resourceType !== 'Composition') return skip('a document without its Composition first');
    const patient = await this.documentPatient(bundle, composition);
    if (!patient) return skip('the document names no patient we can find');
    const registered = (patient.resource.generalPractitioner ?? []).some(
      (g) => g.identifier?.system === SYSTEMS.odsOrganisation && g.identifier.value === gp.odsCode,
    );
    if (!registered) return skip('the patient is registered with another practice');
    const kind: PublishedKind = gp.deliver === 'document' ? 'Bundle' : 'DocumentReference';
    const identifier =
      gp.deliver === 'document' ? documentIdentifier(bundle) : publishedIdentifier('Bundle', change.id);
    if (!change.resource) {
      return this.removes(kind)
        ? { kind: 'send', actions: [{ op: 'remove', resourceType: kind, identifier }] }
        : skip('removal not accepted');
    }
    const person = this.person(patient.id, patient.resource);
    const body =
      gp.deliver === 'document'
        ? outboundDocument(bundle)
        : documentNotification(bundle, composition, person, gp.documentBaseUrl as string);
    return { kind: 'send', actions: [{ op: 'upsert', body, identifier }] };
  }

  /** The Composition's subject: a Patient inside the document, or one in our store. */
  private async documentPatient(
    bundle: Bundle,
    composition: Composition,
  ): Promise<{ id: string; resource: Patient } | undefined> {
    const ref = composition.subject?.reference;
    if (!ref) return undefined;
    const relative = PATIENT_LITERAL.exec(ref)?.[1];
    const inBundle = bundle.entry?.find(
      (e) =>
        e.resource?.resourceType === 'Patient' &&
        (e.fullUrl === ref || (relative !== undefined && e.resource.id === relative)),
    )?.resource as Patient | undefined;
    const id = relative ?? inBundle?.id;
    if (id !== undefined) {
      // Registration is what our store says, when it holds the person.
      const stored = await this.patient(id);
      if (stored) return { id, resource: stored };
    }
    return inBundle ? { id: inBundle.id ?? '', resource: inBundle } : undefined;
  }
}
