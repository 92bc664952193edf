import type { Coding, Organization } from 'fhir/r4.js';
import { ORGANISATION_KINDS, type OrganisationKind as OrganisationKindCode } from '../domain/codes.js';
import type { Organisation } from '../domain/model.js';
import { SYSTEMS, codeFrom, coding } from './common.js';
import { opt, required, resourceId } from './fields.js';

/** Organisation <-> Organization (mappings/organisation.md). */

type OrganisationKind = Organisation['kind'];
// Fails to compile if the model's kinds and the vocabulary's drift apart.
const _sameKinds: [OrganisationKind, OrganisationKindCode] extends [OrganisationKindCode, OrganisationKind]
  ? true
  : never = true;

const HL7_ORG_TYPE = 'http://terminology.hl7.org/CodeSystem/organization-type';
/** The nearest generic HL7 type, for systems that do not know our codes. */
const HL7_TYPE: Record<OrganisationKind, string> = {
  icb: 'pay',
  'nhs-provider': 'prov',
  'gp-practice': 'prov',
  'third-party': 'other',
  provider: 'prov',
};

export function toFhir(org: Organisation): Organization {
  const codings: Coding[] = [
    coding('phb-organisation-kind', org.kind),
    { system: HL7_ORG_TYPE, code: HL7_TYPE[org.kind] },
  ];
  return {
    resourceType: 'Organization',
    id: org.id,
    ...(org.odsCode !== undefined ? { identifier: [{ system: SYSTEMS.odsOrganisation, value: org.odsCode }] } : {}),
    active: true,
    type: [{ coding: codings }],
    name: org.name,
  };
}

export function fromFhir(org: Organization): Organisation {
  const i = org.identifier?.findIndex((id) => id.system === SYSTEMS.odsOrganisation) ?? -1;
  return {
    id: resourceId(org),
    name: required(org.name, '/name'),
    ...opt('odsCode', i >= 0 ? required(org.identifier?.[i]?.value, `/identifier/${i}/value`) : undefined),
    kind: codeFrom(org.type, 'phb-organisation-kind', ORGANISATION_KINDS, '/type'),
  };
}
