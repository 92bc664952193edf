import type {
  Bundle,
  CarePlan,
  ChargeItem,
  Coverage,
  DocumentReference,
  EpisodeOfCare,
  Extension,
  FhirResource,
  Goal,
  Observation,
  Patient,
} from 'fhir/r4.js';
import { budgetPosition } from '../domain/budget.js';
import { DomainError } from '../domain/errors.js';
import type {
  Budget,
  CarePlanPcsp,
  IsoDateTime,
  Organisation,
  Payment,
  PhbJourney,
  RecoveryGoal,
  SpendLine,
  StaffMember,
} from '../domain/model.js';
import type { QuestionnaireScore, SeriesTrend } from '../domain/scores.js';
import * as careplan from './careplan.js';
import * as chargeItem from './chargeItem.js';
import { reference, SYSTEMS } from './common.js';
import * as coverage from './coverage.js';
import { DOCUMENT_IDENTIFIER_KIND, DOCUMENT_TYPE, type DischargeContent } from './discharge.js';
import * as episodeOfCare from './episodeOfCare.js';
import { journeyFrom } from './extensionValues.js';
import * as goal from './goal.js';
import { mapped } from './mapped.js';
import * as observation from './observation.js';
import * as patient from './patient.js';
import { ID_PATTERN } from '../domain/ids.js';

/**
 * The stored discharge document (mappings/discharge-document.md, "Stored and delivered"): which
 * records of a person it is built from, its identifier, and the DocumentReference that lists it.
 * Pure: the operation (src/api/fhir/dischargeRoutes.ts) does the reading and writing.
 */

export const DOCUMENT_SYSTEM = SYSTEMS.identifier(DOCUMENT_IDENTIFIER_KIND);

/** One document per journey: `discharge-<journey id>`, as dischargeDocument() names it. */
export function documentIdentifier(journeyId: string): { system: string; value: string } {
  return { system: DOCUMENT_SYSTEM, value: `discharge-${journeyId}` };
}

/** The search (and If-None-Exist) that finds the stored document or its DocumentReference. */
export function documentQuery(journeyId: string): string {
  const id = documentIdentifier(journeyId);
  return `identifier=${encodeURIComponent(`${id.system}|${id.value}`)}`;
}

const PATIENT_LITERAL = new RegExp(String.raw`^(?:.*/)?Patient/(${ID_PATTERN})$`);

/**
 * The Patient id a document Bundle is about: its Composition's subject, a `Patient/<id>` or the
 * urn of a Patient entry inside it (whose id is ours). Undefined for anything but a document.
 */
export function documentSubject(bundle: Bundle): string | undefined {
  if (bundle.type !== 'document') return undefined;
  const composition = bundle.entry?.[0]?.resource;
  if (composition?.resourceType !== 'Composition') return undefined;
  const ref = composition.subject?.reference;
  if (ref === undefined) return undefined;
  const literal = PATIENT_LITERAL.exec(ref)?.[1];
  if (literal !== undefined) return literal;
  const inside = bundle.entry?.find((e) => e.fullUrl === ref && e.resource?.resourceType === 'Patient')?.resource;
  return inside?.id;
}

/**
 * What lists the document for the person and their GP: type discharge summary, the document's own
 * identifier, and the stored Bundle as its content (`bundleUrl` is `Bundle/<id>`, or the
 * transaction placeholder HAPI turns into it).
 */
export function documentReference(
  document: Bundle,
  about: { patientId: string; journeyId: string; authorRoleId: string },
  bundleUrl: string,
): DocumentReference {
  const composition = document.entry?.[0]?.resource;
  const title = composition?.resourceType === 'Composition' ? composition.title : 'Discharge summary';
  const { patientId, journeyId } = about;
  const id = documentIdentifier(journeyId);
  return {
    resourceType: 'DocumentReference',
    masterIdentifier: id,
    identifier: [id],
    status: 'current',
    docStatus: 'final',
    type: { coding: [{ ...DOCUMENT_TYPE }] },
    subject: reference('Patient', patientId),
    ...(document.timestamp ? { date: document.timestamp } : {}),
    author: [reference('PractitionerRole', about.authorRoleId)],
    description: title,
    content: [
      {
        attachment: { contentType: 'application/fhir+json', url: bundleUrl, title },
        format: {
          system: 'http://ihe.net/fhir/ValueSet/IHE.FormatCode.codesystem',
          code: 'urn:ihe:iti:xds:2017:mimeTypeSufficient',
          display: 'mimeType Sufficient',
        },
      },
    ],
    context: { encounter: [reference('EpisodeOfCare', journeyId)], related: [{ reference: bundleUrl }] },
  };
}

/** A person's PHB journey as the discharge document needs it. */
export interface DischargeRecords {
  patient: Patient;
  journey: { resource: EpisodeOfCare; value: PhbJourney };
  budget?: Budget;
  plan?: { resource: CarePlan; value: CarePlanPcsp };
  goals: RecoveryGoal[];
  payments: Payment[];
  spend: SpendLine[];
  scores: QuestionnaireScore[];
}

function inJourney(resource: { resourceType: string; extension?: Extension[] }, journeyId: string): boolean {
  try {
    return journeyFrom(resource.extension, resource.resourceType) === journeyId;
  } catch {
    return false; // not part of a PHB journey
  }
}

function ofType<T extends FhirResource>(resources: readonly FhirResource[], type: T['resourceType']): T[] {
  return resources.flatMap((r) => (r.resourceType === type ? [r as T] : []));
}

/** A stored record our mappers cannot read: this journey cannot be summarised as it stands. */
function notDocumentable(what: string): (reason: string) => DomainError {
  return (reason) =>
    new DomainError('', `The ${what} cannot be put in a discharge document: ${reason}`, 'business-rule');
}

/**
 * The journey's records out of the person's whole record (the $phb-summary search: the Patient
 * and everything that refers to them). Goals are the plan's; money and scores are the journey's.
 */
export function dischargeRecords(
  resources: readonly FhirResource[],
  patientId: string,
  journeyId: string,
): DischargeRecords {
  const person = ofType<Patient>(resources, 'Patient').find((p) => p.id === patientId);
  const episode = ofType<EpisodeOfCare>(resources, 'EpisodeOfCare').find((e) => e.id === journeyId);
  if (!person || !episode) throw new DomainError('', 'The journey or the person is not in the record', 'business-rule');
  const budgetResource = ofType<Coverage>(resources, 'Coverage').find((c) => inJourney(c, journeyId));
  const budget = budgetResource && mapped(budgetResource, coverage.fromFhir, notDocumentable('budget'));
  const planResource = ofType<CarePlan>(resources, 'CarePlan').find((p) => inJourney(p, journeyId));
  const plan = planResource && {
    resource: planResource,
    value: mapped(planResource, careplan.fromFhir, notDocumentable('plan')),
  };
  const goalIds = new Set(plan?.value.goalIds ?? []);
  const ledger = budget
    ? ofType<ChargeItem>(resources, 'ChargeItem')
        .filter((c) => c.account?.[0]?.reference === `Account/${budget.id}`)
        .map((c) => mapped(c, chargeItem.fromFhir, notDocumentable('ledger')))
    : [];
  const scores = ofType<Observation>(resources, 'Observation')
    .filter(observation.isScore)
    .flatMap((o) => {
      try {
        return [observation.fromFhir(o)];
      } catch {
        return []; // a score we cannot read is left out, as $phb-summary does
      }
    })
    .filter((s) => s.journeyId === journeyId);
  return {
    patient: person,
    journey: { resource: episode, value: mapped(episode, episodeOfCare.fromFhir, notDocumentable('journey')) },
    ...(budget ? { budget } : {}),
    ...(plan ? { plan } : {}),
    goals: ofType<Goal>(resources, 'Goal')
      .filter((g) => g.id !== undefined && goalIds.has(g.id))
      .map((g) => mapped(g, goal.fromFhir, notDocumentable('goal'))),
    payments: ledger.flatMap((l) => (l.kind === 'payment' ? [l.payment] : [])),
    spend: ledger.flatMap((l) => (l.kind === 'spend' ? [l.line] : [])),
    scores,
  };
}

/** What the person completing the record adds: the words a GP reads first, and who to ask. */
export interface DischargeNotes {
  clinicalSummary: string;
  authorContact: string;
  actionsForGp: string[];
  actionsForPerson: string[];
  informationGiven: string[];
  individualRequirements?: string;
}

/**
 * The document's content from a closed journey. A journey with no budget or plan has no PHB to
 * hand over (422): the discharge letter for it is the provider's own.
 */
export function dischargeContent(
  records: DischargeRecords,
  journey: PhbJourney,
  plan: CarePlanPcsp | undefined,
  people: {
    author: StaffMember;
    gpPractice: Organisation;
    payor: Organisation;
    leadContact?: { id: string; name: string };
  },
  scores: { trend: SeriesTrend; title: string }[],
  notes: DischargeNotes,
  issued: IsoDateTime,
): DischargeContent {
  const { budget } = records;
  if (!budget)
    throw new DomainError(
      '',
      'The PHB journey has no budget: there is no personal health budget to hand over',
      'business-rule',
    );
  if (!plan)
    throw new DomainError(
      '',
      'The PHB journey has no care and support plan: there are no goals to hand over',
      'business-rule',
    );
  const holder = mapped(records.patient, patient.fromFhir, notDocumentable("person's record"));
  return {
    issued,
    holder,
    gpPractice: people.gpPractice,
    author: people.author,
    authorContact: notes.authorContact,
    ...(people.leadContact ? { leadContact: people.leadContact } : {}),
    payor: people.payor,
    journey,
    budget,
    position: budgetPosition(budget, records.payments, records.spend),
    plan,
    goals: records.goals,
    scores: scores.flatMap(({ trend, title }) =>
      trend.change ? [{ questionnaire: title, measured: trend.latest.time, change: trend.change }] : [],
    ),
    actionsForGp: notes.actionsForGp,
    actionsForPerson: notes.actionsForPerson,
    informationGiven: notes.informationGiven,
    ...(notes.individualRequirements !== undefined ? { individualRequirements: notes.individualRequirements } : {}),
    clinicalSummary: notes.clinicalSummary,
  };
}
