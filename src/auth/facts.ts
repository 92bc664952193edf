import type { CareTeam, Consent, EpisodeOfCare, Patient, PractitionerRole, Reference, RelatedPerson } from 'fhir/r4.js';
import type { FhirStore } from '../store/fhirStore.js';
import { resourcesOf } from '../fhir/bundle.js';
import { SYSTEMS } from '../fhir/common.js';
import { consentDecisionSearch, consentGrants } from '../fhir/consent.js';
import { TEAM_SYSTEM } from '../fhir/practitioner.js';
import type { AccessFacts } from './authorize.js';

/**
 * Access facts read from HAPI on every request, never cached: withdrawing consent or leaving a
 * team takes effect on the caller's next request.
 */
export class StoreAccessFacts implements AccessFacts {
  constructor(private readonly store: FhirStore) {}

  async consentActive(patientId: string, clientId: string): Promise<boolean> {
    const bundle = await this.store.search<Consent>('Consent', consentDecisionSearch(patientId));
    return consentGrants(resourcesOf<Consent>(bundle, 'Consent'), patientId, clientId);
  }

  async onTeam(practitionerRoleId: string, role: string, patientId: string): Promise<boolean> {
    const staff = await this.store.readIfExists<PractitionerRole>('PractitionerRole', practitionerRoleId);
    // The token's role must be the one HAPI holds for this person: data, not the token, is authoritative.
    const holdsRole = staff?.code?.some((c) =>
      c.coding?.some((k) => k.system === SYSTEMS.codeSystem('staff-role') && k.code === role),
    );
    if (!staff || staff.active === false || !holdsRole) return false;
    const me = new Set([
      `PractitionerRole/${practitionerRoleId}`,
      ...(staff.practitioner?.reference ? [staff.practitioner.reference] : []),
    ]);
    const teams = new Set(
      (staff.healthcareService ?? []).flatMap((h) =>
        h.identifier?.system === TEAM_SYSTEM && h.identifier.value ? [h.identifier.value] : [],
      ),
    );

    const careTeams = await this.store.search<CareTeam>('CareTeam', {
      subject: `Patient/${patientId}`,
      status: 'active',
      _count: 100,
    });
    const onCareTeam = resourcesOf<CareTeam>(careTeams, 'CareTeam').some(
      (t) =>
        (t.participant ?? []).some((p) => isOneOf(p.member, me)) ||
        (t.identifier ?? []).some((i) => i.system === TEAM_SYSTEM && i.value !== undefined && teams.has(i.value)),
    );
    if (onCareTeam) return true;
    if (!staff.practitioner?.reference) return false;
    const led = await this.store.search<EpisodeOfCare>('EpisodeOfCare', {
      patient: `Patient/${patientId}`,
      'care-manager': staff.practitioner.reference,
      _count: 1,
    });
    return resourcesOf(led, 'EpisodeOfCare').length > 0;
  }

  async memberOfTeam(practitionerRoleId: string, team: string): Promise<boolean> {
    const staff = await this.store.readIfExists<PractitionerRole>('PractitionerRole', practitionerRoleId);
    return (
      staff !== undefined &&
      staff.active !== false &&
      (staff.healthcareService ?? []).some((h) => h.identifier?.system === TEAM_SYSTEM && h.identifier.value === team)
    );
  }

  async onCaseload(team: string, patientId: string): Promise<boolean> {
    const teams = await this.store.search<CareTeam>('CareTeam', {
      subject: `Patient/${patientId}`,
      identifier: `${TEAM_SYSTEM}|${team}`,
      status: 'active',
      _count: 1,
      _elements: 'id',
    });
    return resourcesOf(teams, 'CareTeam').length > 0;
  }

  async registeredWith(patientId: string, ods: string): Promise<boolean> {
    const patient = await this.store.readIfExists<Patient>('Patient', patientId);
    return (patient?.generalPractitioner ?? []).some(
      (gp) => gp.identifier?.system === SYSTEMS.odsOrganisation && gp.identifier.value === ods,
    );
  }

  async represents(relatedPersonId: string, patientId: string): Promise<boolean> {
    const person = await this.store.readIfExists<RelatedPerson>('RelatedPerson', relatedPersonId);
    return person !== undefined && person.active !== false && person.patient.reference === `Patient/${patientId}`;
  }
}

function isOneOf(ref: Reference | undefined, refs: ReadonlySet<string>): boolean {
  return ref?.reference !== undefined && refs.has(ref.reference);
}
