import type { Coding, RelatedPerson } from 'fhir/r4.js';
import type { Representative } from '../domain/model.js';
import { extension, reference, referencedId } from './common.js';
import { extensionAt, requireBoolean, required, resourceId } from './fields.js';

/** Representative <-> RelatedPerson (mappings/representative.md). */

export const NOMINEE_EXTENSION = 'phb-nominee';
const ROLE_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';

/** Common family words and their HL7 personal-relationship codes, so other systems can sort by them. */
const ROLE_CODES: Readonly<Record<string, string>> = {
  mother: 'MTH',
  father: 'FTH',
  parent: 'PRN',
  daughter: 'DAU',
  son: 'SON',
  child: 'CHILD',
  sister: 'SIS',
  brother: 'BRO',
  wife: 'WIFE',
  husband: 'HUSB',
  spouse: 'SPS',
  partner: 'DOMPART',
  friend: 'FRND',
  grandmother: 'GRMTH',
  grandfather: 'GRFTH',
  aunt: 'AUNT',
  uncle: 'UNCLE',
  guardian: 'GUARD',
  neighbour: 'NBOR',
};

function relationshipCoding(words: string): Coding[] {
  const code = ROLE_CODES[words.trim().toLowerCase()];
  return code ? [{ system: ROLE_CODE_SYSTEM, code }] : [];
}

export function toFhir(rep: Representative): RelatedPerson {
  const coding = relationshipCoding(rep.relationship);
  return {
    resourceType: 'RelatedPerson',
    id: rep.id,
    // Always present, true or false: whether the person may receive a direct payment for the holder.
    extension: [extension(NOMINEE_EXTENSION, { valueBoolean: rep.nominee })],
    active: true,
    patient: reference('Patient', rep.budgetHolderId),
    relationship: [{ ...(coding.length ? { coding } : {}), text: rep.relationship }],
    name: [{ text: rep.name }],
  };
}

export function fromFhir(person: RelatedPerson): Representative {
  const nominee = extensionAt(person.extension, NOMINEE_EXTENSION);
  return {
    id: resourceId(person),
    budgetHolderId: referencedId(person.patient, 'Patient', '/patient'),
    name: required(person.name?.[0]?.text, '/name/0/text'),
    relationship: required(person.relationship?.[0]?.text, '/relationship/0/text'),
    nominee: requireBoolean(
      nominee?.ext.valueBoolean,
      nominee ? `${nominee.at}/valueBoolean` : '/extension (phb-nominee)',
    ),
  };
}
