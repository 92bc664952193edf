import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type {
  Bundle,
  BundleEntry,
  CarePlan,
  EpisodeOfCare,
  FhirResource,
  Organization,
  Patient,
  Practitioner,
  PractitionerRole,
} from 'fhir/r4.js';
import type { Request, Response } from 'express';
import { withProvenance } from '../../audit/provenance.js';
import { currentAccess } from '../../auth/guard.js';
import { resourceIdParam } from '../../auth/compartment.js';
import { patientOf } from '../../fhir/compartment.js';
import { DomainError } from '../../domain/errors.js';
import { closeJourney } from '../../domain/journey.js';
import type { Organisation, StaffMember } from '../../domain/model.js';
import { trendsBySeries, type QuestionnaireScore, type SeriesTrend } from '../../domain/scores.js';
import { entriesOf } from '../../fhir/bundle.js';
import * as careplan from '../../fhir/careplan.js';
import { CANONICAL_BASE, referencedId, SYSTEMS } from '../../fhir/common.js';
import { dischargeDocument } from '../../fhir/discharge.js';
import {
  dischargeContent,
  dischargeRecords,
  documentIdentifier,
  documentQuery,
  documentReference,
  documentSubject,
  type DischargeNotes,
} from '../../fhir/dischargeRecords.js';
import * as episodeOfCare from '../../fhir/episodeOfCare.js';
import * as organization from '../../fhir/organization.js';
import { readParameters } from '../../fhir/parameters.js';
import { operationSpecs } from '../../conformance/operations.js';
import { repoRoot } from '../../config/config.js';
import * as practitioner from '../../fhir/practitioner.js';
import { summarySearch } from '../../fhir/summary.js';
import { AppError, forbidden, isStoreConflict, notFound } from '../../outcome/errors.js';
import type { FhirStore } from '../../store/fhirStore.js';
import type { ProtectedRoute } from '../route.js';
import { baseUrl, checkReadQuery, sendResource } from './http.js';
import { catalogOf } from '../questionnaires.js';
import { exampleId } from '../route.js';
import { weakEtag } from '../../util/etag.js';
import { ID_PATTERN } from '../../domain/ids.js';

/**
 * Discharge to primary care on /fhir (OperationDefinition profiles/operations/discharge-document.json):
 * `POST EpisodeOfCare/{id}/$discharge-document` closes the journey and stores the document in
 * one transaction, then always answers with the stored document, so a second call returns it
 * unchanged; `GET Bundle/{id}` is how a GP system fetches it (authorized after read, against
 * the document's subject).
 */
export const OPERATION = 'discharge-document';
const DEFINITION = `${CANONICAL_BASE}/OperationDefinition/discharge-document`;
// Read from the OperationDefinition, so what the operation takes and what /fhir/metadata links to are one truth.
const SPECS = operationSpecs(path.join(repoRoot, 'profiles'), OPERATION);

const unprocessable = (e: DomainError): AppError =>
  new AppError(422, { code: e.kind === 'business-rule' ? 'business-rule' : 'invalid', diagnostics: e.message });

function notesFrom(body: unknown): DischargeNotes {
  const input = readParameters(body, SPECS);
  const texts = (name: string): string[] =>
    (input.get(name) ?? []).map((p) => String(p.value).trim()).filter((t) => t !== '');
  const one = (name: string): string | undefined => texts(name)[0];
  const clinicalSummary = one('clinicalSummary');
  const authorContact = one('contact');
  // The GP reads these first: a document without them would say nothing the PHB records do not.
  if (!clinicalSummary)
    throw new AppError(400, {
      code: 'required',
      diagnostics: 'Parameter clinicalSummary is required to produce the document',
      location: 'Parameters',
    });
  if (!authorContact)
    throw new AppError(400, {
      code: 'required',
      diagnostics: 'Parameter contact (how the GP reaches the person completing the record) is required',
      location: 'Parameters',
    });
  const requirements = one('individualRequirements');
  return {
    clinicalSummary,
    authorContact,
    actionsForGp: texts('actionForGp'),
    actionsForPerson: texts('actionForPerson'),
    informationGiven: texts('informationGiven'),
    ...(requirements !== undefined ? { individualRequirements: requirements } : {}),
  };
}

async function storedDocument(store: FhirStore, journeyId: string): Promise<Bundle | undefined> {
  const id = documentIdentifier(journeyId);
  const found = await store.search<Bundle>('Bundle', { identifier: `${id.system}|${id.value}`, _count: 1 });
  return entriesOf(found)
    .map((e) => e.resource)
    .find((r): r is Bundle => r.resourceType === 'Bundle');
}

function sendDocument(req: Request, res: Response, document: Bundle): void {
  res.setHeader('Content-Location', `${baseUrl(req)}/Bundle/${document.id ?? ''}`);
  sendResource(res, document);
}

/** The person completing the record: the caller's PractitionerRole and its Practitioner, as HAPI holds them. */
async function author(store: FhirStore, practitionerRoleId: string): Promise<StaffMember> {
  const role = await store.read<PractitionerRole>('PractitionerRole', practitionerRoleId);
  const person = await store.read<Practitioner>(
    'Practitioner',
    referencedId(role.practitioner, 'Practitioner', 'PractitionerRole.practitioner'),
  );
  return practitioner.fromFhir({ practitioner: person, role });
}

/** The GP practice the person is registered with (its Organization when we hold one, else named by its ODS code). */
async function gpPractice(store: FhirStore, person: Patient): Promise<Organisation> {
  const ods = person.generalPractitioner?.find(
    (g) => g.identifier?.system === SYSTEMS.odsOrganisation && g.identifier.value,
  )?.identifier?.value;
  if (!ods)
    throw new DomainError(
      '',
      'The person has no GP practice recorded (Patient.generalPractitioner with an ODS code): record it before discharging to primary care',
      'business-rule',
    );
  const found = await store.search<Organization>('Organization', {
    identifier: `${SYSTEMS.odsOrganisation}|${ods}`,
    _count: 1,
  });
  const org = entriesOf(found)
    .map((e) => e.resource)
    .find((r): r is Organization => r.resourceType === 'Organization');
  return { id: org?.id ?? `gp-${ods}`, name: org?.name ?? `GP practice ${ods}`, odsCode: ods, kind: 'gp-practice' };
}

async function payor(store: FhirStore, id: string): Promise<Organisation> {
  const org = await store.read<Organization>('Organization', id);
  try {
    return organization.fromFhir(org);
  } catch {
    return { id, name: org.name ?? 'Integrated care board', kind: 'icb' };
  }
}

/** Start -> latest of each score in the journey, judged with its questionnaire's rule, with the questionnaire's title. */
async function scoreTrends(
  store: FhirStore,
  scores: QuestionnaireScore[],
): Promise<{ trend: SeriesTrend; title: string }[]> {
  const known = await catalogOf(store).describe(scores.map((s) => s.questionnaire));
  return trendsBySeries(scores, (q, score) => known.get(q)?.rules.find((r) => r.score === score)).map((trend) => ({
    trend,
    title: known.get(trend.questionnaire)?.title ?? trend.questionnaire,
  }));
}

/** The journey's lead contact, when someone else than the author: the document names everyone it refers to. */
async function lead(
  store: FhirStore,
  practitionerId: string | undefined,
  authorId: string,
): Promise<{ id: string; name: string } | undefined> {
  if (practitionerId === undefined || practitionerId === authorId) return undefined;
  const person = await store.read<Practitioner>('Practitioner', practitionerId);
  return {
    id: practitionerId,
    name:
      person.name?.[0]?.text ??
      [...(person.name?.[0]?.given ?? []), person.name?.[0]?.family].filter((x) => x).join(' '),
  };
}

const LOCATION = new RegExp(String.raw`^(?:.*/)?Bundle/(${ID_PATTERN})(?:/_history/.*)?$`);

/** Builds the document from the person's records, closing the journey first if it is open, and stores both in one transaction. */
async function produce(store: FhirStore, req: Request, patientId: string, journeyId: string): Promise<Bundle> {
  const { caller } = currentAccess();
  if (caller.kind !== 'staff') throw forbidden('Only a member of staff completes a discharge document');
  const notes = notesFrom(req.body);
  const [found, staff] = await Promise.all([
    store.search('Patient', summarySearch(patientId)),
    author(store, caller.practitionerRoleId),
  ]);
  const entries: BundleEntry[] = [];
  let document: Bundle;
  try {
    const records = dischargeRecords(
      entriesOf(found).map((e) => e.resource),
      patientId,
      journeyId,
    );
    const current = records.journey.value;
    const open = current.stage !== 'closed';
    if (!open && current.closureReason !== 'discharged-to-primary-care') {
      throw new DomainError(
        '',
        `The PHB journey was closed for another reason (${current.closureReason ?? 'none recorded'}), not discharge to primary care`,
        'business-rule',
      );
    }
    const issued = new Date().toISOString();
    const journey = open ? closeJourney(current, 'discharged-to-primary-care', issued.slice(0, 10)) : current;
    // An agreed plan is completed with the journey, as the /api/v1 closure does.
    const plan =
      records.plan && records.plan.value.status === 'active'
        ? { ...records.plan.value, status: 'completed' as const }
        : records.plan?.value;
    const [gp, pays, scores, leadContact] = await Promise.all([
      gpPractice(store, records.patient),
      payor(store, journey.managingOrganisationId ?? records.budget?.payorId ?? ''),
      scoreTrends(store, records.scores),
      lead(store, journey.leadContactId, staff.id),
    ]);
    const people = { author: staff, gpPractice: gp, payor: pays, ...(leadContact ? { leadContact } : {}) };
    document = dischargeDocument(dischargeContent(records, journey, plan, people, scores, notes, issued));
    // The journey and plan change only if nobody else changed them since they were read.
    const version = (r: { meta?: { versionId?: string } }): { ifMatch: string } | Record<string, never> =>
      r.meta?.versionId ? { ifMatch: weakEtag(r.meta.versionId) } : {};
    if (open) {
      entries.push({
        resource: { ...episodeOfCare.toFhir(journey), id: journeyId } as EpisodeOfCare,
        request: { method: 'PUT', url: `EpisodeOfCare/${journeyId}`, ...version(records.journey.resource) },
      });
    }
    if (records.plan && plan !== records.plan.value && plan) {
      const id = records.plan.value.id;
      entries.push({
        resource: careplan.toFhir(plan) as CarePlan,
        request: { method: 'PUT', url: `CarePlan/${id}`, ...version(records.plan.resource) },
      });
    }
  } catch (e) {
    if (e instanceof DomainError) throw unprocessable(e);
    throw e;
  }
  const bundleUrl = `urn:uuid:${randomUUID()}`;
  const { id: _serverAssigns, ...body } = document;
  const bundleIndex = entries.length;
  // Conditional on the document's identifier: stored once, however often (or concurrently) this is called.
  entries.push({
    fullUrl: bundleUrl,
    resource: body as FhirResource,
    request: { method: 'POST', url: 'Bundle', ifNoneExist: documentQuery(journeyId) },
  });
  entries.push({
    fullUrl: `urn:uuid:${randomUUID()}`,
    resource: documentReference(document, { patientId, journeyId, authorRoleId: caller.practitionerRoleId }, bundleUrl),
    request: { method: 'POST', url: 'DocumentReference', ifNoneExist: documentQuery(journeyId) },
  });
  let result: Bundle;
  try {
    result = await store.transaction(
      withProvenance({ resourceType: 'Bundle', type: 'transaction', entry: entries }, caller, 'CREATE'),
    );
  } catch (e) {
    // Someone else closed the journey first: their document is the one.
    if (isStoreConflict(e)) {
      const theirs = await storedDocument(store, journeyId);
      if (theirs) return theirs;
      throw new AppError(409, {
        code: 'conflict',
        diagnostics: 'The journey changed while the document was being made; try again',
      });
    }
    throw e;
  }
  // Read back rather than taken from the transaction's answer: HAPI's answer echoes meta.source
  // in full where the stored copy keeps it shortened, and later calls must see the same bytes.
  const id = LOCATION.exec(result.entry?.[bundleIndex]?.response?.location ?? '')?.[1];
  if (id === undefined)
    throw new AppError(502, {
      code: 'exception',
      diagnostics: 'The FHIR store did not say where it stored the document',
    });
  return store.read<Bundle>('Bundle', id);
}

export const DISCHARGE_DOCUMENT_ROUTE: ProtectedRoute = {
  face: 'fhir',
  method: 'post',
  path: `/EpisodeOfCare/:id/$${OPERATION}`,
  resource: 'EpisodeOfCare',
  interaction: 'update',
  operation: { name: OPERATION, definition: DEFINITION },
  patient: () => undefined,
  id: (req) => resourceIdParam(req.params.id),
  resolvePatient: async (store, req) => {
    const id = resourceIdParam(req.params.id);
    const episode = await store.readIfExists<EpisodeOfCare>('EpisodeOfCare', id);
    const patientId = episode && patientOf(episode);
    if (!episode || patientId === undefined) throw notFound(`EpisodeOfCare/${id} is not known`);
    return { record: episode, patientId };
  },
  urlFor: (patientId) => `/fhir/EpisodeOfCare/${exampleId('EpisodeOfCare', patientId)}/$${OPERATION}`,
  bodyFor: () => ({
    resourceType: 'Parameters',
    parameter: [
      {
        name: 'clinicalSummary',
        valueString:
          'Discharged from secondary mental health care; the personal health budget supported the goals below.',
      },
      { name: 'contact', valueString: 'Recovery team duty line 020 7946 0000' },
      { name: 'actionForGp', valueString: 'Review progress with the goals at the next routine appointment.' },
    ],
  }),
  handle: async (store, req, res) => {
    const { patientId } = currentAccess();
    if (patientId === undefined)
      throw new AppError(500, { code: 'exception', diagnostics: 'The guard allowed no patient' });
    const journeyId = resourceIdParam(req.params.id);
    const stored = await storedDocument(store, journeyId);
    sendDocument(req, res, stored ?? (await produce(store, req, patientId, journeyId)));
  },
};

export const READ_DOCUMENT_ROUTE: ProtectedRoute = {
  face: 'fhir',
  method: 'get',
  path: '/Bundle/:id',
  resource: 'Bundle',
  interaction: 'read',
  patient: () => undefined,
  id: (req) => resourceIdParam(req.params.id),
  resolvePatient: async (store, req) => {
    const id = resourceIdParam(req.params.id);
    const bundle = await store.readIfExists<Bundle>('Bundle', id);
    if (!bundle) throw notFound(`Bundle/${id} is not known`);
    // Only documents are served, each to whoever may read its subject's record.
    const patientId = documentSubject(bundle);
    if (patientId === undefined) throw notFound(`Bundle/${id} is not known`);
    return { record: bundle, patientId };
  },
  urlFor: (patientId) => `/fhir/Bundle/${exampleId('Bundle', patientId)}`,
  handle: async (_store, req, res) => {
    checkReadQuery(req);
    sendResource(res, currentAccess().recordRead<Bundle>('Bundle'));
  },
};
