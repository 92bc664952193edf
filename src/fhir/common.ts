import type { CodeableConcept, Coding, Extension, Identifier, Money, Reference } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';
import { penceToPounds, poundsToPence, type Pence } from '../domain/money.js';
import { ID_PATTERN } from '../domain/ids.js';

/** Every canonical URL this service defines lives under this base (README states it). */
export const CANONICAL_BASE = 'https://phb.fhir.example.org';

export const SYSTEMS = {
  nhsNumber: 'https://fhir.nhs.uk/Id/nhs-number',
  odsOrganisation: 'https://fhir.nhs.uk/Id/ods-organization-code',
  snomed: 'http://snomed.info/sct',
  goalAchievement: 'http://terminology.hl7.org/CodeSystem/goal-achievement',
  /** Our business identifiers: one system per kind of thing, value = our id. */
  identifier: (kind: string): string => `${CANONICAL_BASE}/Id/${kind}`,
  codeSystem: (id: string): string => `${CANONICAL_BASE}/CodeSystem/${id}`,
  valueSet: (id: string): string => `${CANONICAL_BASE}/ValueSet/${id}`,
  extension: (id: string): string => `${CANONICAL_BASE}/StructureDefinition/${id}`,
  profile: (id: string): string => `${CANONICAL_BASE}/StructureDefinition/${id}`,
  questionnaire: (id: string): string => `${CANONICAL_BASE}/Questionnaire/${id}`,
} as const;

export const GBP = 'GBP';

export function money(pence: Pence): Money {
  return { value: penceToPounds(pence), currency: GBP };
}

/** FHIR Money back to pence; anything but GBP, or a fraction of a penny, is refused. */
export function pence(value: Money | undefined, field: string): Pence {
  if (value?.value === undefined) throw new DomainError(field, `${field} is missing`);
  if (value.currency !== GBP)
    throw new DomainError(field, `${field} must be in GBP (got ${value.currency ?? 'no currency'})`);
  return poundsToPence(value.value, field);
}

export function reference(resourceType: string, id: string, display?: string): Reference {
  return { reference: `${resourceType}/${id}`, ...(display ? { display } : {}) };
}

const LITERAL_REFERENCE = new RegExp(String.raw`^(?:.*/)?([A-Za-z]+)/(${ID_PATTERN})(?:/_history/.*)?$`);

/** The id from a literal reference "Type/id", checking the type. */
export function referencedId(ref: Reference | undefined, resourceType: string, field: string): string {
  const match = ref?.reference?.match(LITERAL_REFERENCE);
  if (!match || match[1] !== resourceType) throw new DomainError(field, `${field} must reference a ${resourceType}`);
  return match[2] as string;
}

export function identifier(kind: string, value: string): Identifier {
  return { system: SYSTEMS.identifier(kind), value };
}

export function coding(codeSystemId: string, code: string, display?: string): Coding {
  return { system: SYSTEMS.codeSystem(codeSystemId), code, ...(display ? { display } : {}) };
}

export function concept(codeSystemId: string, code: string, display?: string): CodeableConcept {
  return { coding: [coding(codeSystemId, code, display)] };
}

/** The code from our CodeSystem in a CodeableConcept (or Coding list), checked against the allowed list. */
export function codeFrom<T extends string>(
  value: CodeableConcept | CodeableConcept[] | Coding[] | undefined,
  codeSystemId: string,
  allowed: readonly T[],
  field: string,
): T {
  const codings: Coding[] = Array.isArray(value)
    ? value.flatMap((v) => ('coding' in v || 'text' in v ? ((v as CodeableConcept).coding ?? []) : [v as Coding]))
    : (value?.coding ?? []);
  const system = SYSTEMS.codeSystem(codeSystemId);
  const code = codings.find((c) => c.system === system)?.code;
  if (code === undefined || !(allowed as readonly string[]).includes(code)) {
    throw new DomainError(field, `${field} must carry a code from ${system}`);
  }
  return code as T;
}

export function extension(id: string, value: Omit<Extension, 'url'>): Extension {
  return { url: SYSTEMS.extension(id), ...value };
}

export function findExtension(extensions: Extension[] | undefined, id: string): Extension | undefined {
  return extensions?.find((e) => e.url === SYSTEMS.extension(id));
}

export function findExtensions(extensions: Extension[] | undefined, id: string): Extension[] {
  return extensions?.filter((e) => e.url === SYSTEMS.extension(id)) ?? [];
}
