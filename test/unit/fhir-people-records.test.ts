import type { ChargeItem, CodeSystem, Consent, EpisodeOfCare, Patient, Provenance, RelatedPerson } from 'fhir/r4.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../../src/config/config.js';
import { CLOSURE_REASONS, ORGANISATION_KINDS } from '../../src/domain/codes.js';
import { parseNhsNumber } from '../../src/domain/nhsNumber.js';
import * as chargeItem from '../../src/fhir/chargeItem.js';
import * as consent from '../../src/fhir/consent.js';
import * as documentReference from '../../src/fhir/documentReference.js';
import * as episodeOfCare from '../../src/fhir/episodeOfCare.js';
import * as patient from '../../src/fhir/patient.js';
import * as practitioner from '../../src/fhir/practitioner.js';
import * as provenance from '../../src/fhir/provenance.js';
import * as relatedPerson from '../../src/fhir/relatedPerson.js';
import { checkRow, domainValues, fieldPaths, readMappingTable, type MappingRow } from '../support/mappingTables.js';
import { mappingCases } from '../support/recordCases.js';
import { must, recordFixtures } from '../support/recordFixtures.js';
import { domainError } from '../support/domainError.js';

const cases = mappingCases();

describe.each(cases.map((c) => [c.table, c] as const))('mapping %s', (_table, c) => {
  let rows: MappingRow[];
  beforeAll(async () => {
    rows = await readMappingTable(c.table);
  });

  it('has fixtures', () => expect(c.fixtures.length).toBeGreaterThan(0));

  it.each(c.fixtures.map((f) => [f.label, f] as const))('round-trips %s', (_label, f) => {
    expect(c.fromFhir(c.toFhir(f.value))).toEqual(f.value);
  });

  it('puts every field where its table row says, for every fixture', () => {
    const problems = c.fixtures.flatMap((f) =>
      rows
        .map((row) => checkRow(row, f.table, c.toFhir(f.value)))
        .filter((p) => p !== undefined)
        .map((p) => `${f.label}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it('exercises every table row with at least one fixture', () => {
    const unused = rows
      .filter((row) => c.fixtures.every((f) => domainValues(f.table, row.field).length === 0))
      .map((r) => r.field);
    expect(unused).toEqual([]);
  });

  it('has a table row for every field the fixtures hold', () => {
    const fields = new Set(rows.map((r) => r.field));
    const missing = [...new Set(c.fixtures.flatMap((f) => fieldPaths(f.table, ['kind'])))].filter(
      (p) => !fields.has(p),
    );
    expect(missing).toEqual([]);
  });
});

describe('refusing bad input, naming the field', () => {
  const f = recordFixtures();
  const holder = must(f.holders[0]);

  it('the domain refuses an NHS number that fails Modulus 11', () => {
    const e = domainError(() => parseNhsNumber('9990079197'));
    expect(e.field).toBe('/nhsNumber');
    expect(e.message).toMatch(/\/nhsNumber: not a valid NHS number/);
  });

  it('patient.fromFhir refuses an invalid NHS number, naming the identifier', () => {
    const p = patient.toFhir(holder);
    const bad: Patient = { ...p, identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9990079197' }] };
    const e = domainError(() => patient.fromFhir(bad));
    expect(e.field).toBe('/identifier/0/value');
    expect(e.message).toMatch(/not a valid NHS number/);
    expect(e.message).not.toMatch(/9990079197/);
    expect(
      domainError(() =>
        patient.fromFhir({ ...p, identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '12345' }] }),
      ).message,
    ).toMatch(/exactly 10 digits/);
  });

  it('patient.fromFhir refuses a Patient without an NHS number or a birth date', () => {
    const p = patient.toFhir(holder);
    expect(domainError(() => patient.fromFhir({ ...p, identifier: [] })).field).toBe('/identifier');
    const { birthDate: _b, ...noBirthDate } = p;
    expect(domainError(() => patient.fromFhir(noBirthDate)).field).toBe('/birthDate');
    expect(
      domainError(() => patient.fromFhir({ ...p, generalPractitioner: [{ reference: 'Organization/x' }] })).field,
    ).toBe('/generalPractitioner');
  });

  it('reads the ethnic category from its code when the text is absent', () => {
    const p = patient.toFhir(must(f.holders.find((h) => h.ethnicity === 'White - British')));
    const ext = must(p.extension?.[0]);
    const coded: Patient = {
      ...p,
      extension: [{ ...ext, valueCodeableConcept: { coding: must(ext.valueCodeableConcept?.coding) } }],
    };
    expect(patient.fromFhir(coded).ethnicity).toBe('White - British');
    expect(ext.valueCodeableConcept?.coding?.[0]?.code).toBe('A');
  });

  it('episodeOfCare.fromFhir refuses a status that contradicts the stage, and a missing eligibility', () => {
    const e: EpisodeOfCare = episodeOfCare.toFhir(must(f.journeys[0]));
    expect(domainError(() => episodeOfCare.fromFhir({ ...e, status: 'finished' })).field).toBe('/status');
    const noEligibility = { ...e, extension: must(e.extension).filter((x) => !x.url.endsWith('/phb-eligibility')) };
    expect(domainError(() => episodeOfCare.fromFhir(noEligibility)).field).toBe('/extension');
    const noStage = { ...e, extension: must(e.extension).filter((x) => !x.url.endsWith('/phb-journey-stage')) };
    expect(domainError(() => episodeOfCare.fromFhir(noStage)).message).toMatch(/journey-stage/);
  });

  it('relatedPerson.fromFhir needs the nominee flag', () => {
    const r: RelatedPerson = relatedPerson.toFhir(must(f.representatives[0]));
    expect(domainError(() => relatedPerson.fromFhir({ ...r, extension: [] })).message).toMatch(/phb-nominee/);
  });

  it('practitioner.fromFhir refuses a role of another practitioner or an unknown role code', () => {
    const { practitioner: p, role } = practitioner.toFhir(must(f.staff[0]));
    expect(
      domainError(() =>
        practitioner.fromFhir({
          practitioner: p,
          role: { ...role, practitioner: { reference: 'Practitioner/other' } },
        }),
      ).field,
    ).toBe('/practitioner');
    expect(
      domainError(() => practitioner.fromFhir({ practitioner: p, role: { ...role, code: [{ text: 'nurse' }] } })).field,
    ).toBe('/code');
  });

  it('chargeItem.fromFhir refuses money that is not GBP or not whole pence, and an unknown code', () => {
    const item: ChargeItem = chargeItem.toFhir(
      { kind: 'spend', line: must(f.spendLines[0]).value },
      must(f.spendLines[0]).context,
    );
    expect(
      domainError(() => chargeItem.fromFhir({ ...item, priceOverride: { value: 10, currency: 'USD' } })).message,
    ).toMatch(/\/priceOverride must be in GBP/);
    expect(
      domainError(() => chargeItem.fromFhir({ ...item, priceOverride: { value: 10.005, currency: 'GBP' } })).field,
    ).toBe('/priceOverride');
    expect(domainError(() => chargeItem.fromFhir({ ...item, code: { text: 'shopping' } })).field).toBe('/code');
  });

  it('provenance.fromFhir needs the signed document for an agreement', () => {
    const p: Provenance = provenance.toFhir({ kind: 'agreement', agreement: must(f.agreements[0]) });
    expect(domainError(() => provenance.fromFhir(p)).field).toBe('/target/0');
  });

  it("keeps an agreement's words exactly, whatever the characters", () => {
    const agreement = { ...must(f.agreements[0]), text: 'Up to £250 — café, naïve, 日本語\r\n  trailing spaces  ' };
    const record = provenance.fromFhir(
      provenance.toFhir({ kind: 'agreement', agreement }),
      documentReference.toFhir(agreement),
    );
    expect(record).toEqual({ kind: 'agreement', agreement });
  });

  it('writes money as GBP pounds, never floating-point pence', () => {
    const item = chargeItem.toFhir(
      { kind: 'spend', line: must(f.spendLines.find((l) => l.value.amount === 34999)).value },
      must(f.spendLines[0]).context,
    );
    expect(item.priceOverride).toEqual({ value: 349.99, currency: 'GBP' });
  });

  it('consent.fromFhir needs the information recipient', () => {
    const c: Consent = consent.toFhir(must(f.consents[0]));
    expect(domainError(() => consent.fromFhir({ ...c, provision: { type: 'permit' } })).field).toBe('/provision/actor');
  });
});

describe('our own CodeSystems match the domain vocabularies', () => {
  it.each([
    ['phb-organisation-kind', ORGANISATION_KINDS],
    ['phb-closure-reason', CLOSURE_REASONS],
  ] as const)('%s holds the same codes in the same order', async (id, codes) => {
    const cs = JSON.parse(
      await readFile(path.join(repoRoot, 'profiles', 'codesystems', `${id}.json`), 'utf8'),
    ) as CodeSystem;
    expect(cs.url).toBe(`https://phb.fhir.example.org/CodeSystem/${id}`);
    expect(cs.concept?.map((c) => c.code)).toEqual([...codes]);
  });
});
