import type { DocumentReference, Reference } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';
import type { Agreement } from '../domain/model.js';
import { reference, referencedId } from './common.js';
import { required, resourceId } from './fields.js';

/**
 * Agreement <-> DocumentReference (mappings/agreement.md): the words the person signed, kept
 * verbatim. Provenance (provenance.ts) records the act of signing.
 */

export const AGREEMENT_TYPE_TEXT = 'Personal health budget direct payment agreement';
const CONTENT_TYPE = 'text/plain; charset=utf-8';

/** The budget holder signs as Patient; anyone else (a representative or nominee) as RelatedPerson. */
export function signerReference(agreement: Pick<Agreement, 'signedBy' | 'budgetHolderId'>): Reference {
  return agreement.signedBy === agreement.budgetHolderId
    ? reference('Patient', agreement.signedBy)
    : reference('RelatedPerson', agreement.signedBy);
}

export function signerId(ref: Reference | undefined, field: string): string {
  const type = ref?.reference?.startsWith('Patient/') ? 'Patient' : 'RelatedPerson';
  return referencedId(ref, type, field);
}

export function toFhir(agreement: Agreement): DocumentReference {
  return {
    resourceType: 'DocumentReference',
    id: agreement.id,
    status: 'current',
    docStatus: 'final',
    type: { text: AGREEMENT_TYPE_TEXT },
    subject: reference('Patient', agreement.budgetHolderId),
    date: agreement.signed,
    author: [signerReference(agreement)],
    content: [
      {
        attachment: {
          contentType: CONTENT_TYPE,
          language: 'en-GB',
          data: Buffer.from(agreement.text, 'utf8').toString('base64'),
          title: 'Direct payment agreement',
        },
      },
    ],
    context: { encounter: [reference('EpisodeOfCare', agreement.journeyId)] },
  };
}

export function fromFhir(doc: DocumentReference): Agreement {
  const data = required(doc.content[0]?.attachment.data, '/content/0/attachment/data');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data))
    throw new DomainError('/content/0/attachment/data', '/content/0/attachment/data must be base64');
  return {
    id: resourceId(doc),
    journeyId: referencedId(doc.context?.encounter?.[0], 'EpisodeOfCare', '/context/encounter/0'),
    budgetHolderId: referencedId(doc.subject, 'Patient', '/subject'),
    signedBy: signerId(doc.author?.[0], '/author/0'),
    signed: required(doc.date, '/date'),
    text: Buffer.from(data, 'base64').toString('utf8'),
  };
}
