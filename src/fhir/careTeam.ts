import type { CareTeam } from 'fhir/r4.js';
import type { CareTeamAssignment } from '../domain/model.js';
import { reference, referencedId } from './common.js';
import { required } from './fields.js';

/** CareTeamAssignment <-> CareTeam (mappings/care-team.md): whose staff may see a person's PHB. */
export function toFhir(team: CareTeamAssignment): CareTeam & { id: string } {
  return {
    resourceType: 'CareTeam',
    id: team.id,
    status: team.active ? 'active' : 'inactive',
    subject: reference('Patient', team.budgetHolderId),
    participant: team.memberIds.map((id) => ({ member: reference('PractitionerRole', id) })),
  };
}

export function fromFhir(team: CareTeam): CareTeamAssignment {
  return {
    id: required(team.id, 'CareTeam.id'),
    budgetHolderId: referencedId(team.subject, 'Patient', 'CareTeam.subject'),
    memberIds: (team.participant ?? []).map((p, i) =>
      referencedId(p.member, 'PractitionerRole', `CareTeam.participant[${i}].member`),
    ),
    active: team.status === 'active',
  };
}
