import type { JWTPayload } from 'jose';
import { STAFF_ROLES, isCode, type StaffRole } from '../domain/codes.js';
import { forbidden } from '../outcome/errors.js';
import { parseScopes, type ResourceScope, type ScopeContext } from './scopes.js';
import { ID_PATTERN, isId } from '../domain/ids.js';

/** Every role the permission table knows: staff roles, the people the data is about, and machines. */
export const ROLES = [
  ...STAFF_ROLES,
  'budget-holder',
  'representative',
  'phr-app',
  'gp-system',
  'ehr-system',
  'service-operator',
  'questionnaire-system',
] as const;
export type Role = (typeof ROLES)[number];

/**
 * Claims this service reads from an access token. `fhirUser` and `patient` are SMART's;
 * `phb_role` (a staff role, or a system role), `phb_org` (the caller's ODS code) and `phb_team` (the
 * team codes a system client acts for, space-separated) are ours, and an identity provider in front
 * of NHS CIS2 or a client registry maps its own attributes onto them.
 */
export const CLAIMS = {
  fhirUser: 'fhirUser',
  patient: 'patient',
  role: 'phb_role',
  organisation: 'phb_org',
  teams: 'phb_team',
} as const;

interface CallerBase {
  role: Role;
  /** The token's subject: a user id at the issuer, or the client id for client credentials. */
  subject: string;
  issuer: string;
  clientId: string;
  scopes: ResourceScope[];
  /** Which SMART scope context this caller's requests are checked against. */
  scopeContext: ScopeContext;
}

export interface StaffCaller extends CallerBase {
  kind: 'staff';
  role: StaffRole;
  practitionerRoleId: string;
}

/** The budget holder, or a representative acting for them, in an app of our own. */
export interface PersonCaller extends CallerBase {
  kind: 'person';
  role: 'budget-holder' | 'representative';
  /** `Patient/<id>` or `RelatedPerson/<id>`. */
  fhirUser: string;
  patientId: string;
}

/** A personal health record app acting for one person: only while that person's Consent stands. */
export interface PhrAppCaller extends CallerBase {
  kind: 'phr-app';
  role: 'phr-app';
  fhirUser: string;
  patientId: string;
}

/**
 * A system authenticated by client credentials: a GP practice's EHR, a secondary care EHR sending
 * goals in (ehr-system), the operations tooling that watches and replays the outbound publisher
 * (service-operator, no patient data), or a system sending questionnaires for clinical teams, as
 * Patient Knows Best's advanced questionnaire clients do (questionnaire-system, for its `teams`).
 */
export const SYSTEM_ROLES = ['gp-system', 'ehr-system', 'service-operator', 'questionnaire-system'] as const;

export interface SystemCaller extends CallerBase {
  kind: 'system';
  role: (typeof SYSTEM_ROLES)[number];
  organisationOds?: string;
  /** The team codes (https://phb.fhir.example.org/Id/team) this client acts for. */
  teams: readonly string[];
}

export type Caller = StaffCaller | PersonCaller | PhrAppCaller | SystemCaller;
export type PatientCaller = PersonCaller | PhrAppCaller;

export function isPatientCaller(caller: Caller): caller is PatientCaller {
  return caller.kind === 'person' || caller.kind === 'phr-app';
}

export interface CallerSettings {
  phrAppClients: readonly string[];
}

const FHIR_USER = new RegExp(
  String.raw`^(?:.*/)?(Patient|RelatedPerson|PractitionerRole|Practitioner)/(${ID_PATTERN})$`,
);

function text(claims: JWTPayload, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function fhirUserOf(claims: JWTPayload): { type: string; id: string } | undefined {
  const match = FHIR_USER.exec(text(claims, CLAIMS.fhirUser) ?? '');
  return match ? { type: match[1] as string, id: match[2] as string } : undefined;
}

const refuse = (why: string): never => {
  throw forbidden(`The access token is valid but ${why}`);
};

/** Maps verified claims to a caller, or refuses (403) a token that names no usable identity. */
export function callerFromClaims(claims: JWTPayload, settings: CallerSettings): Caller {
  const clientId = text(claims, 'client_id') ?? text(claims, 'azp') ?? refuse('names no client (client_id)');
  const base = {
    subject: text(claims, 'sub') ?? clientId,
    issuer: text(claims, 'iss') ?? '',
    clientId,
    scopes: parseScopes(text(claims, 'scope')),
  };
  const role = text(claims, CLAIMS.role);
  const user = fhirUserOf(claims);
  const patient = text(claims, CLAIMS.patient);
  if (patient !== undefined && !isId(patient)) refuse('its patient claim is not a resource id');

  if (settings.phrAppClients.includes(clientId)) {
    if (!user || (user.type !== 'Patient' && user.type !== 'RelatedPerson'))
      refuse('a PHR app token must carry fhirUser Patient or RelatedPerson');
    const patientId =
      patient ?? (user?.type === 'Patient' ? user.id : refuse('a PHR app token must carry the patient in context'));
    if (user?.type === 'Patient' && user.id !== patientId) refuse('its patient does not match its fhirUser');
    return {
      ...base,
      kind: 'phr-app',
      role: 'phr-app',
      fhirUser: `${user?.type}/${user?.id}`,
      patientId,
      scopeContext: 'patient',
    };
  }
  if (role !== undefined && isCode(SYSTEM_ROLES, role)) {
    if (user) refuse('a system token must not carry a user');
    const ods = text(claims, CLAIMS.organisation);
    const teams = (text(claims, CLAIMS.teams) ?? '').split(' ').filter((t) => t !== '');
    return { ...base, kind: 'system', role, ...(ods ? { organisationOds: ods } : {}), teams, scopeContext: 'system' };
  }
  if (role !== undefined && role !== 'budget-holder' && role !== 'representative') {
    if (!isCode(STAFF_ROLES, role)) refuse(`its role ${JSON.stringify(role)} is not one this service knows`);
    if (user?.type !== 'PractitionerRole') refuse('a staff token must carry fhirUser PractitionerRole/<id>');
    return {
      ...base,
      kind: 'staff',
      role: role as StaffRole,
      practitionerRoleId: user?.id as string,
      scopeContext: 'user',
    };
  }
  if (user?.type === 'Patient') {
    if (patient !== undefined && patient !== user.id) refuse('its patient does not match its fhirUser');
    return {
      ...base,
      kind: 'person',
      role: 'budget-holder',
      fhirUser: `Patient/${user.id}`,
      patientId: user.id,
      scopeContext: 'patient',
    };
  }
  if (user?.type === 'RelatedPerson') {
    const patientId = patient ?? refuse('a representative token must carry the patient they act for');
    return {
      ...base,
      kind: 'person',
      role: 'representative',
      fhirUser: `RelatedPerson/${user.id}`,
      patientId,
      scopeContext: 'patient',
    };
  }
  return refuse('it identifies no staff role, person or known client');
}

/** Who the caller is as a FHIR reference (for AuditEvent and Provenance agents). */
export function callerReference(caller: Caller): string | undefined {
  switch (caller.kind) {
    case 'staff':
      return `PractitionerRole/${caller.practitionerRoleId}`;
    case 'person':
    case 'phr-app':
      return caller.fhirUser;
    case 'system':
      return undefined;
  }
}
