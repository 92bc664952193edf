import * as careTeam from '../../src/fhir/careTeam.js';
import type { CareTeamAssignment } from '../../src/domain/model.js';
import { checkRow, readMappingTable } from '../support/mappingTables.js';

const team: CareTeamAssignment = { id: 'ct-1', budgetHolderId: 'pt-1', memberIds: ['cc-1', 'tl-1'], active: true };

describe('care team mapping', () => {
  it('round-trips', () => {
    expect(careTeam.fromFhir(careTeam.toFhir(team))).toEqual(team);
    expect(careTeam.fromFhir(careTeam.toFhir({ ...team, active: false, memberIds: [] }))).toEqual({
      ...team,
      active: false,
      memberIds: [],
    });
  });

  it('puts every field where mappings/care-team.md says', async () => {
    const rows = await readMappingTable('care-team');
    expect(rows.map((r) => r.field)).toEqual(['id', 'budgetHolderId', 'memberIds[]', 'active']);
    const resource = careTeam.toFhir(team);
    expect(rows.map((r) => checkRow(r, team, [resource])).filter(Boolean)).toEqual([]);
  });

  it('refuses a member that is not a PractitionerRole, naming it', () => {
    const bad = { ...careTeam.toFhir(team), participant: [{ member: { reference: 'Patient/x' } }] };
    expect(() => careTeam.fromFhir(bad)).toThrow(/CareTeam.participant\[0\].member must reference a PractitionerRole/);
  });
});
