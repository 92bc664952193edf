import type {
  ChargeItem,
  Coverage,
  CarePlan,
  DocumentReference,
  EpisodeOfCare,
  Extension,
  FhirResource,
  Goal,
  PractitionerRole,
  QuestionnaireResponse,
  Task,
} from 'fhir/r4.js';
import type {
  Agreement,
  Budget,
  CarePlanPcsp,
  NeedsAssessment,
  Payment,
  PhbJourney,
  RecoveryGoal,
  Review,
  SpendLine,
  SpendRequest,
} from '../../domain/model.js';
import * as chargeItem from '../../fhir/chargeItem.js';
import { mapped } from '../../fhir/mapped.js';
import * as coverage from '../../fhir/coverage.js';
import * as careplan from '../../fhir/careplan.js';
import * as documentReference from '../../fhir/documentReference.js';
import * as episodeOfCare from '../../fhir/episodeOfCare.js';
import * as goal from '../../fhir/goal.js';
import * as questionnaireResponse from '../../fhir/questionnaireResponse.js';
import { journeyFrom } from '../../fhir/extensionValues.js';
import { referencedId, SYSTEMS } from '../../fhir/common.js';
import * as task from '../../fhir/task.js';
import { AppError, notFound } from '../../outcome/errors.js';
import type { FhirStore } from '../../store/fhirStore.js';
import { resourcesOf } from '../../fhir/bundle.js';

/**
 * Reads one person's PHB journey back from HAPI as domain objects, each with the version it was
 * read at (for If-Match). HAPI is the only store: nothing is cached between requests.
 */
export interface Versioned<T> {
  value: T;
  version: string;
}

export interface JourneySet {
  journey: Versioned<PhbJourney>;
  budget?: Versioned<Budget>;
  plan?: Versioned<CarePlanPcsp>;
  goals: Versioned<RecoveryGoal>[];
  requests: Versioned<SpendRequest>[];
  needs?: NeedsAssessment;
  reviews: Review[];
  payments: Payment[];
  spend: Versioned<SpendLine>[];
  agreement?: Agreement;
}

const MAX = 1000;

function versionOf(resource: FhirResource): string {
  return resource.meta?.versionId ?? '';
}

/** A stored resource that our mapper cannot read is a fault in the store's data, not the caller's. */
function storeFault(reason: string): AppError {
  return new AppError(502, { code: 'exception', diagnostics: `A stored record could not be read (${reason})` });
}

function inJourney(resource: { resourceType: string; extension?: Extension[] }, journeyId: string): boolean {
  try {
    return journeyFrom(resource.extension, resource.resourceType) === journeyId;
  } catch {
    return false; // not part of a PHB journey
  }
}

export class JourneyRecords {
  constructor(
    private readonly store: FhirStore,
    private readonly holderId: string,
  ) {}

  /** The journey, if it is this person's; anyone else's is "not found" (ids cannot be probed). */
  async journey(journeyId: string): Promise<Versioned<PhbJourney>> {
    const episode = await this.store.readIfExists<EpisodeOfCare>('EpisodeOfCare', journeyId);
    if (!episode || episode.patient.reference !== `Patient/${this.holderId}`)
      throw notFound(`No PHB journey ${journeyId} for this person`);
    return { value: mapped(episode, episodeOfCare.fromFhir, storeFault), version: versionOf(episode) };
  }

  async journeys(): Promise<Versioned<PhbJourney>[]> {
    const found = await this.store.search<EpisodeOfCare>('EpisodeOfCare', {
      patient: `Patient/${this.holderId}`,
      _count: MAX,
    });
    return resourcesOf<EpisodeOfCare>(found, 'EpisodeOfCare').flatMap((e) => {
      try {
        return [{ value: episodeOfCare.fromFhir(e), version: versionOf(e) }];
      } catch {
        return []; // an EpisodeOfCare that is not a PHB journey
      }
    });
  }

  /** Everything about one journey, read in parallel: a handful of searches by patient, filtered to the journey. */
  async all(journeyId: string): Promise<JourneySet> {
    const patient = `Patient/${this.holderId}`;
    const search = <T extends FhirResource>(type: T['resourceType'], params: Record<string, string>): Promise<T[]> =>
      this.store.search<T>(type, { ...params, _count: MAX }).then((b) => resourcesOf<T>(b, type));
    const [journey, coverages, plans, goals, tasks, responses, ledger, documents] = await Promise.all([
      this.journey(journeyId),
      search<Coverage>('Coverage', { beneficiary: patient }),
      search<CarePlan>('CarePlan', { subject: patient }),
      search<Goal>('Goal', { subject: patient }),
      search<Task>('Task', { patient, code: `${SYSTEMS.codeSystem('phb-task-type')}|spend-sign-off` }),
      search<QuestionnaireResponse>('QuestionnaireResponse', { subject: patient }),
      search<ChargeItem>('ChargeItem', { subject: patient }),
      search<DocumentReference>('DocumentReference', { subject: patient }),
    ]);
    const budgetResource = coverages.find((c) => inJourney(c, journeyId));
    const budget = budgetResource && {
      value: mapped(budgetResource, coverage.fromFhir, storeFault),
      version: versionOf(budgetResource),
    };
    const planResource = plans.find((p) => inJourney(p, journeyId));
    const plan = planResource && {
      value: mapped(planResource, careplan.fromFhir, storeFault),
      version: versionOf(planResource),
    };
    const goalIds = new Set(plan?.value.goalIds ?? []);
    // Needs and review answers belong to the journey steps; other questionnaires (e.g. impact answers from a PHR app) are not read here.
    const ours = [questionnaireResponse.QUESTIONNAIRES.needs, questionnaireResponse.QUESTIONNAIRES.review];
    const answers = responses
      .filter(
        (r) => inJourney(r, journeyId) && ours.includes((r.questionnaire ?? '').split('|')[0] as (typeof ours)[number]),
      )
      .map((r) => mapped(r, questionnaireResponse.fromFhir, storeFault));
    const entries = budget ? ledger.filter((c) => c.account?.[0]?.reference === `Account/${budget.value.id}`) : [];
    const agreementDoc = documents.find(
      (d) =>
        d.type?.text === documentReference.AGREEMENT_TYPE_TEXT &&
        d.context?.encounter?.[0]?.reference === `EpisodeOfCare/${journeyId}`,
    );
    const needs = answers
      .filter((a): a is NeedsAssessment => 'whatMattersToMe' in a)
      .sort((a, b) => a.completed.localeCompare(b.completed))
      .at(-1);
    return {
      journey,
      ...(budget ? { budget } : {}),
      ...(plan ? { plan } : {}),
      goals: goals
        .filter((g) => g.id !== undefined && goalIds.has(g.id))
        .map((g) => ({ value: mapped(g, goal.fromFhir, storeFault), version: versionOf(g) })),
      requests: tasks
        .filter((t) => inJourney(t, journeyId))
        .map((t) => ({ value: mapped(t, task.fromFhir, storeFault), version: versionOf(t) }))
        .sort((a, b) => a.value.submitted.localeCompare(b.value.submitted)),
      ...(needs ? { needs } : {}),
      reviews: answers.filter((a): a is Review => 'point' in a).sort((a, b) => a.completed.localeCompare(b.completed)),
      payments: entries.flatMap((c) => {
        const entry = mapped(c, chargeItem.fromFhir, storeFault);
        return entry.kind === 'payment' ? [entry.payment] : [];
      }),
      spend: entries.flatMap((c) => {
        const entry = mapped(c, chargeItem.fromFhir, storeFault);
        return entry.kind === 'spend' ? [{ value: entry.line, version: versionOf(c) }] : [];
      }),
      ...(agreementDoc ? { agreement: mapped(agreementDoc, documentReference.fromFhir, storeFault) } : {}),
    };
  }

  /** One spend request of this journey. */
  async request(journeyId: string, requestId: string): Promise<Versioned<SpendRequest>> {
    const resource = await this.store.readIfExists<Task>('Task', requestId);
    const isSignOff = resource?.code?.coding?.some(
      (c) => c.system === SYSTEMS.codeSystem('phb-task-type') && c.code === 'spend-sign-off',
    );
    if (!resource || !isSignOff) throw notFound(`No spend request ${requestId} in this PHB journey`);
    const request = mapped(resource, task.fromFhir, storeFault);
    if (request.budgetHolderId !== this.holderId || request.journeyId !== journeyId)
      throw notFound(`No spend request ${requestId} in this PHB journey`);
    return { value: request, version: versionOf(resource) };
  }
}

/** The Practitioner behind a staff caller's PractitionerRole: decisions and requests name the person, not the role. */
export async function practitionerOf(store: FhirStore, practitionerRoleId: string): Promise<string> {
  const role = await store.read<PractitionerRole>('PractitionerRole', practitionerRoleId);
  return referencedId(role.practitioner, 'Practitioner', 'PractitionerRole.practitioner');
}
