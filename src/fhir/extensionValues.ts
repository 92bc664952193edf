import type { Extension } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';
import { extension, findExtension, reference, referencedId } from './common.js';

/** Small helpers the plan-side mappers share (budget, plan, goal, sign-off, questionnaire answers). */

/** The PHB journey (EpisodeOfCare) a resource belongs to. */
export function journeyExtension(journeyId: string): Extension {
  return extension('phb-journey', { valueReference: reference('EpisodeOfCare', journeyId) });
}

export function journeyFrom(extensions: Extension[] | undefined, resourceType: string): string {
  const field = `${resourceType}.extension:journey`;
  return referencedId(findExtension(extensions, 'phb-journey')?.valueReference, 'EpisodeOfCare', field);
}

export function requireId(resource: { id?: string }, field: string): string {
  if (!resource.id) throw new DomainError(field, `${field} is missing`);
  return resource.id;
}

export function requireString(value: string | undefined, field: string): string {
  if (value === undefined || value === '') throw new DomainError(field, `${field} is missing`);
  return value;
}

/** A sub-extension of a complex extension, by its relative url. */
export function part(ext: Extension, url: string): Extension | undefined {
  return ext.extension?.find((e) => e.url === url);
}

/** Spread into an object literal so absent optional fields stay absent (round trips deep-equal). */
export function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
