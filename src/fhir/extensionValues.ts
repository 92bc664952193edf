import type { Extension } from 'fhir/r4.js';
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

/** A sub-extension of a complex extension, by its relative url. */
export function part(ext: Extension, url: string): Extension | undefined {
  return ext.extension?.find((e) => e.url === url);
}
