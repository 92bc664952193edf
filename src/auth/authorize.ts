import { isPatientCaller, type Caller } from './caller.js';
import { grantFor, type Grant } from './permissions.js';
import { scopeString, scopesAllow, type Interaction } from './scopes.js';

/**
 * What a route is about to do. `patientId` is whose data it touches (absent for non-personal data);
 * `team` the team it is done for, when the request names one (a team code).
 */
export interface AccessRequest {
  resource: string;
  interaction: Interaction;
  patientId?: string;
  team?: string;
}

/**
 * Which check refused: the role's row, the token's scopes, the row's reach (the patient is not
 * one the caller may see), or the caller's standing for its own patient (no active consent, no
 * recorded representation).
 */
export type DenialStage = 'grant' | 'scope' | 'reach' | 'standing';

export type Decision =
  | { allowed: true; grant: Grant }
  | {
      allowed: false;
      reason: string;
      stage: DenialStage;
      /** The scope that would have been needed, for the challenge. */ missingScope?: string;
    };

/** Facts that live in the FHIR store; the decision asks for them, it does not fetch them itself. */
export interface AccessFacts {
  /** An active Consent of the patient naming this PHR app as recipient. */
  consentActive(patientId: string, clientId: string): Promise<boolean>;
  /** The staff member (their PractitionerRole, holding this role) is on the patient's team. */
  onTeam(practitionerRoleId: string, role: string, patientId: string): Promise<boolean>;
  /** The staff member (their PractitionerRole) belongs to this team. */
  memberOfTeam(practitionerRoleId: string, team: string): Promise<boolean>;
  /** The patient is on this team's caseload (an active CareTeam carrying the team's identifier). */
  onCaseload(team: string, patientId: string): Promise<boolean>;
  /** The patient is registered with the GP practice of this ODS code. */
  registeredWith(patientId: string, ods: string): Promise<boolean>;
  /** The RelatedPerson is an active representative of the patient. */
  represents(relatedPersonId: string, patientId: string): Promise<boolean>;
}

export type Denial = Extract<Decision, { allowed: false }>;

const deny = (reason: string, stage: DenialStage = 'reach', missingScope?: string): Denial => ({
  allowed: false,
  reason,
  stage,
  ...(missingScope ? { missingScope } : {}),
});

/** No active Consent for this PHR app: also what the guard answers when a route settles the consent check from its own records. */
export const NO_CONSENT: Denial = deny(
  'The person has no active consent to share their record with this app',
  'standing',
);

/**
 * The permission table and the token's scopes, without the reach: for operations that touch
 * several patients and check each one's reach themselves (with `authorize`).
 */
export function grantAndScope(caller: Caller, resource: string, interaction: Interaction): Decision {
  const grant = grantFor(caller.role, resource, interaction);
  if (!grant) return deny(`The ${caller.role} role may not ${interaction} ${resource}`, 'grant');
  if (!scopesAllow(caller.scopes, caller.scopeContext, resource, interaction)) {
    const needed = scopeString(caller.scopeContext, resource, [interaction]);
    return deny(`The access token's scopes do not allow ${interaction} ${resource} (needs ${needed})`, 'scope', needed);
  }
  return { allowed: true, grant };
}

/** The one access decision: the permission table, then the token's scopes, then the row's reach. */
export async function authorize(caller: Caller, request: AccessRequest, facts: AccessFacts): Promise<Decision> {
  const { resource, interaction, patientId } = request;
  const allowed = grantAndScope(caller, resource, interaction);
  if (!allowed.allowed) return allowed;
  const { grant } = allowed;
  switch (grant.reach) {
    case 'any':
      return allowed;
    case 'own':
    case 'own-consented': {
      if (!isPatientCaller(caller)) return deny(`The ${caller.role} role has no patient of its own`);
      if (patientId !== caller.patientId)
        return deny('The record is outside the patient compartment of this access token');
      if (
        caller.fhirUser.startsWith('RelatedPerson/') &&
        !(await facts.represents(caller.fhirUser.slice('RelatedPerson/'.length), patientId))
      ) {
        return deny('The representative is not recorded as acting for this patient', 'standing');
      }
      if (grant.reach === 'own-consented' && !(await facts.consentActive(patientId, caller.clientId)))
        return NO_CONSENT;
      return allowed;
    }
    case 'team': {
      const { team } = request;
      if (caller.kind === 'system') {
        // A system acts for the teams its client registration names, one named team per request.
        if (team === undefined)
          return deny('Name the team the request is for (a system client has no team of its own)');
        if (!caller.teams.includes(team)) return deny(`The client does not act for team ${team}`);
        if (patientId === undefined) return deny("Name the patient (a system sees the team's caseload only)");
        return (await facts.onCaseload(team, patientId)) ? allowed : deny("The patient is not on the team's caseload");
      }
      if (caller.kind !== 'staff') return deny(`The ${caller.role} role has no team`);
      if (patientId === undefined) return deny("Name the patient (staff see their own team's patients only)");
      if (!(await facts.onTeam(caller.practitionerRoleId, caller.role, patientId)))
        return deny("The patient is not on the caller's team");
      if (team === undefined) return allowed;
      if (!(await facts.memberOfTeam(caller.practitionerRoleId, team)))
        return deny(`The caller is not on team ${team}`);
      return (await facts.onCaseload(team, patientId)) ? allowed : deny("The patient is not on the team's caseload");
    }
    case 'registered':
      if (caller.kind !== 'system' || caller.organisationOds === undefined)
        return deny('The client names no GP practice (phb_org)');
      if (patientId === undefined) return deny('Name the patient (a GP system sees its registered patients only)');
      return (await facts.registeredWith(patientId, caller.organisationOds))
        ? allowed
        : deny('The patient is not registered with this GP practice');
    case 'import':
      // Such rows serve the EHR import alone, which checks them itself (grantAndScope); any other route is refused.
      return deny(`The ${caller.role} role writes only through the EHR import (POST /fhir)`);
  }
}

/**
 * The patient a request is about, narrowed for patient-context callers: a search that names no
 * patient is confined to the caller's own, never widened to everyone's.
 */
export function patientInScope(caller: Caller, requested: string | undefined): string | undefined {
  if (requested !== undefined) return requested;
  return isPatientCaller(caller) ? caller.patientId : undefined;
}
