import type { Extension, Patient } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';
import type { BudgetHolder } from '../domain/model.js';
import { parseNhsNumber } from '../domain/nhsNumber.js';
import { SYSTEMS } from './common.js';
import { identifierReference, opt, required, resourceId } from './fields.js';

/** BudgetHolder <-> Patient (mappings/budget-holder.md). */

export const PROFILE = SYSTEMS.profile('phb-patient');

/** UK Core's ethnic category extension: what GP systems and PHRs already read. */
export const ETHNIC_CATEGORY_EXTENSION = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory';
export const ETHNIC_CATEGORY_SYSTEM = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland';

/** NHS Data Dictionary ethnic category codes (2001 census groups) and the labels staff record. */
export const ETHNIC_CATEGORIES: Readonly<Record<string, string>> = {
  A: 'White - British',
  B: 'White - Irish',
  C: 'White - Any other White background',
  D: 'Mixed - White and Black Caribbean',
  E: 'Mixed - White and Black African',
  F: 'Mixed - White and Asian',
  G: 'Mixed - Any other mixed background',
  H: 'Asian or Asian British - Indian',
  J: 'Asian or Asian British - Pakistani',
  K: 'Asian or Asian British - Bangladeshi',
  L: 'Asian or Asian British - Any other Asian background',
  M: 'Black or Black British - Caribbean',
  N: 'Black or Black British - African',
  P: 'Black or Black British - Any other Black background',
  R: 'Other Ethnic Groups - Chinese',
  S: 'Other Ethnic Groups - Any other ethnic group',
  Z: 'Not stated',
};

function ethnicCodeFor(label: string): string | undefined {
  const wanted = label.trim().toLowerCase();
  return Object.keys(ETHNIC_CATEGORIES).find((code) => ETHNIC_CATEGORIES[code]?.toLowerCase() === wanted);
}

/** The words as recorded stay in text; the code is added when they name a Data Dictionary category. */
function ethnicityExtension(ethnicity: string): Extension {
  const code = ethnicCodeFor(ethnicity);
  return {
    url: ETHNIC_CATEGORY_EXTENSION,
    valueCodeableConcept: {
      ...(code ? { coding: [{ system: ETHNIC_CATEGORY_SYSTEM, code, display: ETHNIC_CATEGORIES[code] }] } : {}),
      text: ethnicity,
    },
  };
}

export function toFhir(holder: BudgetHolder): Patient {
  return {
    resourceType: 'Patient',
    id: holder.id,
    meta: { profile: [PROFILE] },
    ...(holder.ethnicity !== undefined ? { extension: [ethnicityExtension(holder.ethnicity)] } : {}),
    identifier: [{ system: SYSTEMS.nhsNumber, value: holder.nhsNumber }],
    // The name as the person gives it; structured family/given come from PDS, not from splitting.
    name: [{ use: 'usual', text: holder.name }],
    birthDate: holder.birthDate,
    ...(holder.gpPracticeOds !== undefined
      ? { generalPractitioner: [identifierReference('Organization', SYSTEMS.odsOrganisation, holder.gpPracticeOds)] }
      : {}),
  };
}

function ethnicityFrom(patient: Patient): string | undefined {
  const i = patient.extension?.findIndex((e) => e.url === ETHNIC_CATEGORY_EXTENSION) ?? -1;
  if (i < 0) return undefined;
  const value = patient.extension?.[i]?.valueCodeableConcept;
  const code = value?.coding?.find((c) => c.system === ETHNIC_CATEGORY_SYSTEM)?.code;
  const ethnicity = value?.text ?? (code !== undefined ? ETHNIC_CATEGORIES[code] : undefined);
  return required(ethnicity, `/extension/${i}/valueCodeableConcept`);
}

function gpPracticeFrom(patient: Patient): string | undefined {
  const gps = patient.generalPractitioner ?? [];
  if (gps.length === 0) return undefined;
  const i = gps.findIndex((r) => r.identifier?.system === SYSTEMS.odsOrganisation && r.identifier.value);
  if (i < 0)
    throw new DomainError('/generalPractitioner', '/generalPractitioner must identify the GP practice by its ODS code');
  return gps[i]?.identifier?.value;
}

export function fromFhir(patient: Patient): BudgetHolder {
  const i = patient.identifier?.findIndex((id) => id.system === SYSTEMS.nhsNumber) ?? -1;
  if (i < 0) throw new DomainError('/identifier', `/identifier must hold an NHS number (system ${SYSTEMS.nhsNumber})`);
  const nhsNumber = parseNhsNumber(patient.identifier?.[i]?.value, `/identifier/${i}/value`);
  const name = patient.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  return {
    id: resourceId(patient),
    nhsNumber,
    name: required(text, '/name'),
    birthDate: required(patient.birthDate, '/birthDate'),
    ...opt('ethnicity', ethnicityFrom(patient)),
    ...opt('gpPracticeOds', gpPracticeFrom(patient)),
  };
}
