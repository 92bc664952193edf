import type { FhirResource, Reference } from 'fhir/r4.js';
import { ID_PATTERN } from '../domain/ids.js';

/**
 * The R4 Patient compartment, as far as this service serves it: which reference on each resource
 * names the patient. Task is not in R4's compartment, so `for` is used (shared/REFERENCE.md).
 */
const PATIENT_PATHS: Readonly<Record<string, (r: never) => Reference | undefined>> = {
  CarePlan: (r: { subject?: Reference }) => r.subject,
  Goal: (r: { subject?: Reference }) => r.subject,
  Coverage: (r: { beneficiary?: Reference }) => r.beneficiary,
  QuestionnaireResponse: (r: { subject?: Reference }) => r.subject,
  Observation: (r: { subject?: Reference }) => r.subject,
  EpisodeOfCare: (r: { patient?: Reference }) => r.patient,
  Consent: (r: { patient?: Reference }) => r.patient,
  RelatedPerson: (r: { patient?: Reference }) => r.patient,
  Task: (r: { for?: Reference }) => r.for,
  ServiceRequest: (r: { subject?: Reference }) => r.subject,
  DocumentReference: (r: { subject?: Reference }) => r.subject,
  Account: (r: { subject?: Reference[] }) => r.subject?.[0],
  ChargeItem: (r: { subject?: Reference }) => r.subject,
};

/** Whose compartment a stored resource is in; undefined when it is in none (so only `any` rows reach it). */
export function patientOf(resource: FhirResource): string | undefined {
  if (resource.resourceType === 'Patient') return resource.id;
  const ref = patientReferenceOf(resource);
  return patientIdOf(ref?.reference ?? '');
}

function patientReferenceOf(resource: FhirResource): Reference | undefined {
  const path = PATIENT_PATHS[resource.resourceType];
  return path ? (path as (r: FhirResource) => Reference | undefined)(resource) : undefined;
}

const PATIENT_REF = new RegExp(String.raw`^(?:.*/)?Patient/(${ID_PATTERN})(?:/_history/.*)?$`);
const LOCAL_PATIENT_REF = new RegExp(String.raw`^Patient/(${ID_PATTERN})$`);

/** The Patient id a literal reference names: relative or absolute, versioned or not. */
export function patientIdOf(reference: string): string | undefined {
  return PATIENT_REF.exec(reference)?.[1];
}

/**
 * The patient a resource is about, only when it names them by a plain `Patient/<id>` on this
 * server: the publisher sends records out in that person's name, so an absolute or versioned
 * reference (which access checks accept as the compartment) is not taken as theirs.
 */
export function localPatientOf(resource: FhirResource): string | undefined {
  return LOCAL_PATIENT_REF.exec(patientReferenceOf(resource)?.reference ?? '')?.[1];
}
