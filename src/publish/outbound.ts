import type { Bundle, Composition, DocumentReference, FhirResource, Identifier, Reference } from 'fhir/r4.js';
import { ID_PATTERN } from '../domain/ids.js';
import { SYSTEMS } from '../fhir/common.js';

/**
 * What a destination receives, shaped from what HAPI holds: pure functions, no I/O.
 *
 * Every resource we write to a destination carries our identifier (system below, value
 * `<Type>/<id>` of the resource in our store), and is written with a conditional update on it,
 * so sending it again finds and updates the same resource instead of adding one. References
 * become logical references: the person by NHS number (how PHRs such as Patient Knows Best
 * find patients), everything else by our identifier, so nothing depends on the destination's
 * ids or on the order resources arrive in.
 */

export const PUBLISHED_SYSTEM = SYSTEMS.identifier('published-resource');

export function publishedIdentifier(resourceType: string, id: string): Identifier & { system: string; value: string } {
  return { system: PUBLISHED_SYSTEM, value: `${resourceType}/${id}` };
}

/** The identifier of the plan's readable rendering (one per CarePlan). */
export function planDocumentIdentifier(carePlanId: string): Identifier & { system: string; value: string } {
  return { system: PUBLISHED_SYSTEM, value: `CarePlan/${carePlanId}/document` };
}

export interface PersonAtDestination {
  /** Our Patient id. */
  patientId: string;
  nhsNumber: string;
}

export function patientReference(person: PersonAtDestination): Reference {
  return { type: 'Patient', identifier: { system: SYSTEMS.nhsNumber, value: person.nhsNumber } };
}

const RELATIVE = new RegExp(String.raw`^([A-Z][A-Za-z]+)/(${ID_PATTERN})(?:/_history/[^/]+)?$`);

function rewriteReferences(value: unknown, person: PersonAtDestination): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, person));
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(object)) out[k] = rewriteReferences(v, person);
  const match = typeof object.reference === 'string' ? RELATIVE.exec(object.reference) : null;
  if (!match) return out;
  const [, type, id] = match as unknown as [string, string, string];
  delete out.reference;
  out.type = type;
  out.identifier =
    type === 'Patient' && id === person.patientId
      ? { system: SYSTEMS.nhsNumber, value: person.nhsNumber }
      : publishedIdentifier(type, id);
  return out;
}

/**
 * A copy for a destination: no id or version (the destination keeps its own), our identifier
 * first, references made logical. Profiles stay so the destination can tell what it holds.
 */
export function outboundCopy<T extends FhirResource>(resource: T, person: PersonAtDestination): T {
  const { id, meta, ...rest } = resource as T & { id?: string; meta?: { profile?: string[] } };
  const copy = rewriteReferences(rest, person) as T & { identifier?: Identifier[] };
  const ours = publishedIdentifier(resource.resourceType, id ?? '');
  const others = (copy.identifier ?? []).filter((i) => i.system !== PUBLISHED_SYSTEM);
  return {
    ...copy,
    ...(meta?.profile?.length ? { meta: { profile: meta.profile } } : {}),
    identifier: [ours, ...others],
  } as T;
}

/** The document Bundle as stored, keyed by its own identifier when it has one (the document's id), else ours. */
export function documentIdentifier(bundle: Bundle): Identifier & { system: string; value: string } {
  const own = bundle.identifier;
  return own?.system && own.value
    ? { system: own.system, value: own.value }
    : publishedIdentifier('Bundle', bundle.id ?? '');
}

export function outboundDocument(bundle: Bundle): Bundle {
  const { id: _id, meta: _meta, ...rest } = bundle;
  return { ...rest, identifier: documentIdentifier(bundle) };
}

/**
 * A GP notification: a pointer to the document (in the manner of the NHS National Record
 * Locator), which the GP system fetches from our /fhir with its own client-credentials token.
 */
export function documentNotification(
  bundle: Bundle,
  composition: Composition,
  person: PersonAtDestination,
  documentBaseUrl: string,
): DocumentReference {
  const master = documentIdentifier(bundle);
  return {
    resourceType: 'DocumentReference',
    identifier: [publishedIdentifier('Bundle', bundle.id ?? '')],
    ...(bundle.identifier?.value ? { masterIdentifier: master } : {}),
    status: 'current',
    docStatus: composition.status === 'final' || composition.status === 'amended' ? 'final' : 'preliminary',
    type: composition.type,
    ...(composition.category ? { category: composition.category } : {}),
    subject: patientReference(person),
    date: composition.date,
    description: composition.title,
    content: [
      {
        attachment: {
          contentType: 'application/fhir+json',
          url: `${documentBaseUrl.replace(/\/+$/, '')}/Bundle/${bundle.id ?? ''}`,
          title: composition.title,
        },
        format: {
          system: 'http://ihe.net/fhir/ValueSet/IHE.FormatCode.codesystem',
          code: 'urn:ihe:iti:xds:2017:mimeTypeSufficient',
          display: 'mimeType Sufficient',
        },
      },
    ],
  };
}
