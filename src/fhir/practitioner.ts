import type { Practitioner, PractitionerRole } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';
import { STAFF_ROLES } from '../domain/codes.js';
import type { StaffMember } from '../domain/model.js';
import { SYSTEMS, codeFrom, concept, reference, referencedId } from './common.js';
import { identifierReference, identifierValue, opt, required, resourceId } from './fields.js';

/**
 * StaffMember <-> Practitioner + PractitionerRole (mappings/staff.md). The person and their PHB
 * role are separate resources in FHIR; both carry the staff member's id.
 */

export interface StaffResources {
  practitioner: Practitioner;
  role: PractitionerRole;
}

/** Teams are known by name only, so they are a logical reference by our team identifier. */
export const TEAM_SYSTEM = SYSTEMS.identifier('team');

export function toFhir(staff: StaffMember): StaffResources {
  return {
    practitioner: { resourceType: 'Practitioner', id: staff.id, active: true, name: [{ text: staff.name }] },
    role: {
      resourceType: 'PractitionerRole',
      id: staff.id,
      active: true,
      practitioner: reference('Practitioner', staff.id),
      organization: identifierReference('Organization', SYSTEMS.odsOrganisation, staff.organisationOds),
      code: [concept('staff-role', staff.role)],
      ...(staff.team !== undefined
        ? { healthcareService: [identifierReference('HealthcareService', TEAM_SYSTEM, staff.team)] }
        : {}),
    },
  };
}

export function fromFhir({ practitioner, role }: StaffResources): StaffMember {
  const id = resourceId(practitioner);
  if (referencedId(role.practitioner, 'Practitioner', '/practitioner') !== id) {
    throw new DomainError('/practitioner', `/practitioner of the PractitionerRole must reference Practitioner/${id}`);
  }
  const team = role.healthcareService?.[0];
  return {
    id,
    name: required(practitioner.name?.[0]?.text, '/name/0/text'),
    role: codeFrom(role.code, 'staff-role', STAFF_ROLES, '/code'),
    organisationOds: identifierValue(role.organization, SYSTEMS.odsOrganisation, '/organization'),
    ...opt('team', team ? identifierValue(team, TEAM_SYSTEM, '/healthcareService/0') : undefined),
  };
}
