import { createHash } from 'node:crypto';
import type {
  Bundle,
  BundleEntry,
  Composition,
  CompositionSection,
  FhirResource,
  Observation,
  Reference,
} from 'fhir/r4.js';
import type { BudgetPosition } from '../domain/budget.js';
import { formatPounds } from '../domain/money.js';
import type {
  Budget,
  BudgetHolder,
  CarePlanPcsp,
  IsoDateTime,
  Organisation,
  PhbJourney,
  RecoveryGoal,
  StaffMember,
} from '../domain/model.js';
import type { ScoreChange } from '../domain/scores.js';
import * as carePlan from './careplan.js';
import { concept, identifier, reference, SYSTEMS } from './common.js';
import * as coverage from './coverage.js';
import * as episodeOfCare from './episodeOfCare.js';
import * as goal from './goal.js';
import { narrative, type Block } from './narrative.js';
import * as organization from './organization.js';
import * as patient from './patient.js';
import * as practitioner from './practitioner.js';

/** What the GP needs when a person leaves secondary mental health care with a PHB. */
export interface DischargeContent {
  issued: IsoDateTime;
  holder: BudgetHolder;
  gpPractice: Organisation;
  /** The person completing the record. */
  author: StaffMember;
  /** Who the GP contacts with questions (phone or email). */
  authorContact: string;
  /** The journey's lead contact (its EpisodeOfCare.careManager) when that is someone else than the author. */
  leadContact?: { id: string; name: string };
  payor: Organisation;
  journey: PhbJourney;
  budget: Budget;
  position: BudgetPosition;
  plan: CarePlanPcsp;
  goals: RecoveryGoal[];
  scores: { questionnaire: string; measured: IsoDateTime; change: ScoreChange }[];
  actionsForGp: string[];
  actionsForPerson: string[];
  informationGiven: string[];
  individualRequirements?: string;
  clinicalSummary: string;
}

/** PRSB headings as the NHS mental health eDischarge codes them (SNOMED CT). */
export const SECTIONS = {
  demographics: { code: '886731000000109', display: 'Patient demographics' },
  gpPractice: { code: '886711000000101', display: 'GP practice' },
  author: { code: '887231000000104', display: 'Person completing record' },
  clinicalSummary: { code: '887181000000106', display: 'Clinical summary' },
  allergies: { code: '886921000000105', display: 'Allergies and adverse reactions' },
  plan: { code: '887201000000105', display: 'Plan and requested actions' },
  assessmentScales: { code: '887141000000103', display: 'Assessment scales' },
  information: { code: '1052951000000105', display: 'Information and advice given' },
  individualRequirements: { code: '1052901000000109', display: 'Individual requirements' },
} as const;

/** The PHB summary is our own heading: PRSB has none for it. */
export const PHB_SECTION = {
  codeSystem: 'phb-document-section',
  code: 'phb-summary',
  display: 'Personal health budget summary',
} as const;
export const DOCUMENT_IDENTIFIER_KIND = 'discharge-document';
export const DOCUMENT_TYPE = { system: SYSTEMS.snomed, code: '373942005', display: 'Discharge summary' } as const;

/** A stable urn:uuid per resource, so the same content always gives the same document. */
export function entryUrn(resourceType: string, id: string): string {
  const h = createHash('sha1').update(`${resourceType}/${id}`).digest('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

/** Rewrites every literal "Type/id" reference to the entry's urn; anything not in the document is an error. */
function resolveInside(value: unknown, urns: ReadonlyMap<string, string>, unresolved: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveInside(v, urns, unresolved));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'reference' && typeof v === 'string' && /^[A-Z][A-Za-z]+\/[^/]+$/.test(v)) {
      const urn = urns.get(v);
      if (urn) out[key] = urn;
      else unresolved.add(v);
    } else out[key] = resolveInside(v, urns, unresolved);
  }
  return out;
}

function section(
  heading: { code: string; display: string },
  blocks: Block[],
  entries: Reference[] = [],
): CompositionSection {
  return {
    title: heading.display,
    code: { coding: [{ system: SYSTEMS.snomed, code: heading.code, display: heading.display }] },
    text: narrative(blocks),
    ...(entries.length > 0 ? { entry: entries } : {}),
  };
}

const TREND_WORDS = { improved: 'improved', 'no-change': 'no meaningful change', worse: 'worse' } as const;

function scoreObservation(
  holderId: string,
  score: DischargeContent['scores'][number],
  i: number,
  documentId: string,
): Observation & { id: string } {
  const { change } = score;
  return {
    resourceType: 'Observation',
    id: `${documentId}-score-${i}`,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' }] }],
    code: { text: `${score.questionnaire}: ${change.score} score` },
    subject: reference('Patient', holderId),
    effectiveDateTime: score.measured,
    valueQuantity: { value: change.latest, unit: 'score', system: 'http://unitsofmeasure.org', code: '{score}' },
    note: [
      {
        text: `First ${change.first}, latest ${change.latest} (${change.change >= 0 ? '+' : ''}${change.change}): ${TREND_WORDS[change.trend]}.`,
      },
    ],
  };
}

/**
 * The discharge document: a FHIR R4 document Bundle whose Composition carries the PRSB headings
 * with narrative a GP can read without a FHIR viewer, and every resource it refers to inside it.
 */
export function dischargeDocument(c: DischargeContent): Bundle {
  const documentId = `discharge-${c.journey.id}`;
  const staff = practitioner.toFhir(c.author);
  const scores = c.scores.map((s, i) => scoreObservation(c.holder.id, s, i, documentId));
  const goals = c.goals.map(goal.toFhir);
  const lead = c.leadContact && c.leadContact.id !== c.author.id ? c.leadContact : undefined;
  const resources: (FhirResource & { id: string })[] = [
    { ...patient.toFhir(c.holder), id: c.holder.id },
    { ...organization.toFhir(c.gpPractice), id: c.gpPractice.id },
    { ...organization.toFhir(c.payor), id: c.payor.id },
    { ...staff.practitioner, id: c.author.id },
    { ...staff.role, id: c.author.id },
    ...(lead
      ? [{ resourceType: 'Practitioner' as const, id: lead.id, active: true, name: [{ text: lead.name }] }]
      : []),
    { ...episodeOfCare.toFhir(c.journey), id: c.journey.id },
    coverage.toFhir(c.budget),
    carePlan.toFhir(c.plan),
    ...goals,
    ...scores,
  ];
  const ref = (r: FhirResource & { id: string }): Reference => reference(r.resourceType, r.id);
  const goalLines = c.goals.map((g) => `${g.text} (${g.achievement ?? 'no progress recorded'}; ${g.lifecycle})`);
  const items = c.plan.items.map((i) => [i.description, i.category, formatPounds(i.cost), i.status]);
  const composition: Composition & { id: string } = {
    resourceType: 'Composition',
    id: documentId,
    identifier: identifier(DOCUMENT_IDENTIFIER_KIND, documentId),
    status: 'final',
    type: { coding: [{ ...DOCUMENT_TYPE }] },
    subject: reference('Patient', c.holder.id),
    date: c.issued,
    author: [reference('PractitionerRole', c.author.id)],
    title: 'Discharge from secondary mental health care to primary care: personal health budget',
    custodian: reference('Organization', c.payor.id),
    section: [
      section(
        SECTIONS.demographics,
        [`${c.holder.name}, born ${c.holder.birthDate}, NHS number ${c.holder.nhsNumber}.`],
        [reference('Patient', c.holder.id)],
      ),
      section(
        SECTIONS.gpPractice,
        [`${c.gpPractice.name}${c.gpPractice.odsCode ? ` (ODS ${c.gpPractice.odsCode})` : ''}.`],
        [reference('Organization', c.gpPractice.id)],
      ),
      section(
        SECTIONS.author,
        [
          `${c.author.name}, ${c.author.role.replace(/-/g, ' ')}. Contact: ${c.authorContact}.`,
          ...(lead ? [`Lead contact during the personal health budget: ${lead.name}.`] : []),
        ],
        [reference('PractitionerRole', c.author.id), ...(lead ? [reference('Practitioner', lead.id)] : [])],
      ),
      section(SECTIONS.clinicalSummary, [c.clinicalSummary]),
      {
        ...section(SECTIONS.allergies, [
          'Not recorded by the personal health budget service; see the discharging provider\u2019s record.',
        ]),
        emptyReason: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason', code: 'unavailable' }],
        },
      },
      section(
        SECTIONS.plan,
        [
          'Goals the person is working on, in their own words, with their latest progress:',
          { list: goalLines },
          'Actions for the GP practice:',
          c.actionsForGp.length ? { list: c.actionsForGp } : 'None.',
          'Actions agreed with the person:',
          c.actionsForPerson.length ? { list: c.actionsForPerson } : 'None.',
        ],
        [ref(carePlan.toFhir(c.plan)), ...goals.map(ref)],
      ),
      section(
        SECTIONS.assessmentScales,
        c.scores.length === 0
          ? ['No outcome scores are recorded with the personal health budget.']
          : [
              {
                list: c.scores.map(
                  (s) =>
                    `${s.questionnaire} ${s.change.score} score: first ${s.change.first}, latest ${s.change.latest} on ${s.measured.slice(0, 10)}: ${TREND_WORDS[s.change.trend]}.`,
                ),
              },
            ],
        scores.map(ref),
      ),
      section(SECTIONS.information, c.informationGiven.length ? [{ list: c.informationGiven }] : ['None recorded.']),
      section(SECTIONS.individualRequirements, [c.individualRequirements ?? 'None recorded.']),
      {
        title: PHB_SECTION.display,
        code: concept(PHB_SECTION.codeSystem, PHB_SECTION.code, PHB_SECTION.display),
        text: narrative([
          `A ${c.budget.kind} personal health budget (${c.budget.cohort.replace(/-/g, ' ')}), held as ${c.budget.managementOption.replace(/-/g, ' ')}, funded by ${c.payor.name}.`,
          {
            table: {
              head: ['Agreed', 'Paid', 'Spent', 'Remaining'],
              rows: [
                [
                  c.position.agreed ?? c.position.indicative,
                  c.position.paid,
                  c.position.spent,
                  c.position.remaining,
                ].map(formatPounds),
              ],
            },
          },
          'What the budget bought:',
          { table: { head: ['Item', 'Category', 'Cost', 'Status'], rows: items } },
        ]),
        entry: [reference('Coverage', c.budget.id), reference('EpisodeOfCare', c.journey.id)],
      },
    ],
  };
  const all = [composition, ...resources];
  const urns = new Map(all.map((r) => [`${r.resourceType}/${r.id}`, entryUrn(r.resourceType, r.id)]));
  const unresolved = new Set<string>();
  const entry: BundleEntry[] = all.map((r) => ({
    fullUrl: entryUrn(r.resourceType, r.id),
    resource: resolveInside(r, urns, unresolved) as FhirResource,
  }));
  if (unresolved.size > 0)
    throw new Error(`The discharge document refers to resources it does not hold: ${[...unresolved].join(', ')}`);
  return {
    resourceType: 'Bundle',
    id: documentId,
    identifier: identifier(DOCUMENT_IDENTIFIER_KIND, documentId),
    type: 'document',
    timestamp: c.issued,
    entry,
  };
}
