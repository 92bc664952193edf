import type {
  Account,
  ChargeItem,
  Consent,
  DocumentReference,
  EpisodeOfCare,
  FhirResource,
  Organization,
  Patient,
  Practitioner,
  PractitionerRole,
  Provenance,
  RelatedPerson,
  ServiceRequest,
} from 'fhir/r4.js';
import * as account from '../../src/fhir/account.js';
import * as chargeItem from '../../src/fhir/chargeItem.js';
import * as consent from '../../src/fhir/consent.js';
import * as documentReference from '../../src/fhir/documentReference.js';
import * as episodeOfCare from '../../src/fhir/episodeOfCare.js';
import * as organization from '../../src/fhir/organization.js';
import * as patient from '../../src/fhir/patient.js';
import * as practitioner from '../../src/fhir/practitioner.js';
import * as provenance from '../../src/fhir/provenance.js';
import * as relatedPerson from '../../src/fhir/relatedPerson.js';
import * as serviceRequest from '../../src/fhir/serviceRequest.js';
import { recordFixtures, type WithContext } from './recordFixtures.js';

/**
 * One case per mapping table: its fixtures, how to map them to FHIR and back, and which object
 * the table's "PHB field" column reads. Unit tests round-trip and check the tables; integration
 * tests send the same resources to HAPI's $validate.
 */
export interface MappingCase {
  table: string;
  fixtures: { label: string; value: unknown; table: unknown }[];
  toFhir(value: unknown): FhirResource[];
  fromFhir(resources: FhirResource[]): unknown;
}

function of<T extends FhirResource>(resources: FhirResource[], type: T['resourceType']): T {
  const found = resources.find((r) => r.resourceType === type);
  if (!found) throw new Error(`no ${type} among the mapped resources`);
  return found as T;
}

function makeCase<T>(
  table: string,
  fixtures: T[],
  label: (x: T) => string,
  toFhir: (x: T) => FhirResource[],
  fromFhir: (r: FhirResource[]) => T,
  tableObject: (x: T) => unknown = (x) => x,
): MappingCase {
  return {
    table,
    fixtures: fixtures.map((f) => ({ label: label(f), value: f, table: tableObject(f) })),
    toFhir: toFhir as (value: unknown) => FhirResource[],
    fromFhir,
  };
}

function ledger<T extends { id: string }>(
  table: string,
  entries: WithContext<T>[],
  wrap: (v: T) => chargeItem.LedgerEntry,
): MappingCase {
  return makeCase<WithContext<T>>(
    table,
    entries,
    (e) => e.value.id,
    (e) => [chargeItem.toFhir(wrap(e.value), e.context)],
    (r) => {
      const item = of<ChargeItem>(r, 'ChargeItem');
      const entry = chargeItem.fromFhir(item);
      const value = (entry.kind === 'spend' ? entry.line : entry.payment) as unknown as T;
      return { value, context: { budgetHolderId: item.subject.reference?.replace('Patient/', '') ?? '' } };
    },
    (e) => e.value,
  );
}

export function mappingCases(): MappingCase[] {
  const f = recordFixtures();
  return [
    makeCase(
      'budget-holder',
      f.holders,
      (x) => x.id,
      (x) => [patient.toFhir(x)],
      (r) => patient.fromFhir(of<Patient>(r, 'Patient')),
    ),
    makeCase(
      'representative',
      f.representatives,
      (x) => x.id,
      (x) => [relatedPerson.toFhir(x)],
      (r) => relatedPerson.fromFhir(of<RelatedPerson>(r, 'RelatedPerson')),
    ),
    makeCase(
      'staff',
      f.staff,
      (x) => x.id,
      (x) => {
        const { practitioner: p, role } = practitioner.toFhir(x);
        return [p, role];
      },
      (r) =>
        practitioner.fromFhir({
          practitioner: of<Practitioner>(r, 'Practitioner'),
          role: of<PractitionerRole>(r, 'PractitionerRole'),
        }),
    ),
    makeCase(
      'organisation',
      f.organisations,
      (x) => x.id,
      (x) => [organization.toFhir(x)],
      (r) => organization.fromFhir(of<Organization>(r, 'Organization')),
    ),
    makeCase(
      'journey',
      f.journeys,
      (x) => x.id,
      (x) => [episodeOfCare.toFhir(x)],
      (r) => episodeOfCare.fromFhir(of<EpisodeOfCare>(r, 'EpisodeOfCare')),
    ),
    makeCase(
      'questionnaire-request',
      f.questionnaireRequests,
      (x) => x.id,
      (x) => [serviceRequest.toFhir(x)],
      (r) => serviceRequest.fromFhir(of<ServiceRequest>(r, 'ServiceRequest')),
    ),
    makeCase(
      'consent',
      f.consents,
      (x) => x.id,
      (x) => [consent.toFhir(x)],
      (r) => consent.fromFhir(of<Consent>(r, 'Consent')),
    ),
    makeCase(
      'decision',
      f.decisions,
      (x) => x.id,
      (x) => [provenance.toFhir(x)],
      (r) => {
        const record = provenance.fromFhir(of<Provenance>(r, 'Provenance'));
        if (record.kind !== 'sign-off') throw new Error('expected a sign-off decision');
        return record;
      },
    ),
    makeCase(
      'agreement',
      f.agreements,
      (x) => x.id,
      (x) => [documentReference.toFhir(x), provenance.toFhir({ kind: 'agreement', agreement: x })],
      (r) => {
        const record = provenance.fromFhir(
          of<Provenance>(r, 'Provenance'),
          of<DocumentReference>(r, 'DocumentReference'),
        );
        if (record.kind !== 'agreement') throw new Error('expected an agreement');
        return record.agreement;
      },
    ),
    makeCase(
      'account',
      f.accounts,
      (x) => x.id,
      (x) => [account.toFhir(x)],
      (r) => account.fromFhir(of<Account>(r, 'Account')),
    ),
    ledger('spend', f.spendLines, (line) => ({ kind: 'spend', line })),
    ledger('payment', f.payments, (payment) => ({ kind: 'payment', payment })),
  ];
}
