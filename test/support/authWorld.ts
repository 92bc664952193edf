import type { Express } from 'express';
import type { AuditEvent, Bundle, CareTeam, Patient, RelatedPerson } from 'fhir/r4.js';
import { createApp } from '../../src/api/app.js';
import { createAuth, type Auth, type AuthSettings } from '../../src/api/authSetup.js';
import type { FhirStore } from '../../src/store/fhirStore.js';
import { ROLES, type Role } from '../../src/auth/caller.js';
import { STAFF_ROLES, type StaffRole } from '../../src/domain/codes.js';
import { SYSTEMS } from '../../src/fhir/common.js';
import * as consent from '../../src/fhir/consent.js';
import * as practitioner from '../../src/fhir/practitioner.js';
import { TEAM_SYSTEM } from '../../src/fhir/practitioner.js';
import type { HapiStore } from '../../src/store/hapiStore.js';
import { testStore, uniqueId, freshNhsNumber } from './hapi.js';
import { freshSpoolDir, removeSpoolDir } from './spool.js';
import { PASSWORD, TEST_AUDIENCE, TestIdentity } from './identity.js';
import type { DemoUser } from '../../src/devIdentity/provider.js';
import path from 'node:path';
import { repoRoot } from '../../src/config/config.js';
import { readConformanceFiles } from '../../src/conformance/files.js';
import { loadConformance } from '../../src/conformance/loader.js';

/**
 * Two patients in the real HAPI (the caller's own and another), staff on the first one's care
 * team, a representative, a GP practice, a PHR app with consent, a real identity provider with a
 * user per role, and the facade trusting it.
 */
export const CLIENTS = {
  staffApp: { clientId: 'test-staff-app', secret: 'test-staff-secret' },
  portal: { clientId: 'test-portal' },
  phrApp: { clientId: 'test-phr-app' },
  gpSystem: { clientId: 'test-gp-system', secret: 'test-gp-secret' },
  ehrSystem: { clientId: 'test-ehr-system', secret: 'test-ehr-secret' },
  operator: { clientId: 'test-operator', secret: 'test-operator-secret' },
  questionnaireSystem: { clientId: 'test-questionnaire-system', secret: 'test-questionnaire-secret' },
} as const;

const REDIRECT = ['http://127.0.0.1:3000/callback'];

export interface AuthWorld {
  store: HapiStore;
  identity: TestIdentity;
  auth: Auth;
  app: Express;
  /** The audit log's spool directory. */
  spoolDir: string;
  /** The patient each caller may see (own / on the team / registered / consented). */
  own: string;
  /** A patient nobody here may see. */
  other: string;
  representativeId: string;
  staffRoleIds: Record<StaffRole, string>;
  consentIds: { own: string; other: string };
  gpOds: string;
  /** The team code whose caseload `own` is on, and the only team the questionnaire system acts for. */
  team: string;
  /** The NHS numbers of `own` and `other` (fresh per run, so an EHR import finds exactly one person). */
  nhsNumbers: { own: string; other: string };
  token(role: Role): Promise<string>;
  /** The demo user a role signs in as (staff roles, budget-holder, representative). */
  username(role: Role): string;
  close(): Promise<void>;
}

function patient(id: string, gpOds: string, nhsNumber: string): Patient & { id: string } {
  return {
    resourceType: 'Patient',
    id,
    active: true,
    identifier: [{ system: SYSTEMS.nhsNumber, value: nhsNumber }],
    name: [{ use: 'usual', text: 'Test Person' }],
    birthDate: '1984-03-12',
    generalPractitioner: [{ type: 'Organization', identifier: { system: SYSTEMS.odsOrganisation, value: gpOds } }],
  };
}

/**
 * The facade's token checks and audit trusting one test provider, with the settings the tests share (the PHR
 * app of CLIENTS, a fresh audit spool); a test changes only what it is about.
 */
export function testAuth(store: FhirStore, issuer: string, changes: Partial<AuthSettings> = {}): Auth {
  return createAuth(store, {
    issuers: [issuer],
    audience: TEST_AUDIENCE,
    algorithms: ['RS256', 'PS256', 'ES256'],
    jwksCooldownMs: 500,
    clockToleranceSeconds: 30,
    phrAppClients: [CLIENTS.phrApp.clientId],
    timeoutMs: 10000,
    retryAfterSeconds: 5,
    auditSpoolDir: freshSpoolDir(),
    ...changes,
  });
}

export async function createAuthWorld(
  options: {
    jwksCooldownMs?: number;
    extraUsers?: DemoUser[];
    store?: HapiStore;
    /** CORS_ALLOWED_ORIGINS for the facade and the provider's token endpoint; none when absent. */
    corsOrigins?: string[];
  } = {},
): Promise<AuthWorld> {
  // The shared test HAPI, unless the test runs its own (e.g. one it kills).
  const store = options.store ?? testStore();
  // As the service does at start: the Questionnaires and profiles the routes rely on are in HAPI.
  await loadConformance(store, await readConformanceFiles(path.join(repoRoot, 'profiles')));
  const own = uniqueId('pt-own');
  const other = uniqueId('pt-other');
  const representativeId = uniqueId('rp');
  const gpOds = `G${Math.floor(Math.random() * 1e5)}`;
  const staffRoleIds = Object.fromEntries(STAFF_ROLES.map((r) => [r, uniqueId(`pr-${r}`)])) as Record<
    StaffRole,
    string
  >;
  const consentIds = { own: uniqueId('consent'), other: uniqueId('consent') };

  const nhsNumbers = { own: freshNhsNumber(), other: freshNhsNumber() };
  await store.update(patient(own, gpOds, nhsNumbers.own));
  await store.update(patient(other, `${gpOds}X`, nhsNumbers.other));
  const rep: RelatedPerson & { id: string } = {
    resourceType: 'RelatedPerson',
    id: representativeId,
    active: true,
    patient: { reference: `Patient/${own}` },
  };
  await store.update(rep);
  for (const role of STAFF_ROLES) {
    const { practitioner: p, role: pr } = practitioner.toFhir({
      id: staffRoleIds[role],
      name: `Test ${role}`,
      role,
      organisationOds: 'RTEST',
    });
    await store.update({ ...p, id: staffRoleIds[role] });
    await store.update({ ...pr, id: staffRoleIds[role] });
  }
  const teamCode = uniqueId('team');
  const team: CareTeam & { id: string } = {
    resourceType: 'CareTeam',
    id: uniqueId('ct'),
    identifier: [{ system: TEAM_SYSTEM, value: teamCode }],
    status: 'active',
    subject: { reference: `Patient/${own}` },
    participant: STAFF_ROLES.map((r) => ({ member: { reference: `PractitionerRole/${staffRoleIds[r]}` } })),
  };
  await store.update(team);
  const now = new Date().toISOString();
  for (const [id, holder] of [
    [consentIds.own, own],
    [consentIds.other, other],
  ] as const) {
    await store.update({
      ...consent.toFhir({
        id,
        budgetHolderId: holder,
        recipient: CLIENTS.phrApp.clientId,
        status: 'active',
        dateTime: now,
      }),
      id,
    });
  }

  const suffix = uniqueId('u');
  const users = [
    ...STAFF_ROLES.map((role) => ({
      username: `${role}-${suffix}`,
      password: PASSWORD,
      claims: { fhirUser: `PractitionerRole/${staffRoleIds[role]}`, phb_role: role },
    })),
    { username: `holder-${suffix}`, password: PASSWORD, claims: { fhirUser: `Patient/${own}`, patient: own } },
    {
      username: `rep-${suffix}`,
      password: PASSWORD,
      claims: { fhirUser: `RelatedPerson/${representativeId}`, patient: own },
    },
    // Users a test defines itself (their claims are read when a token is issued, so a test may fill them in later).
    ...(options.extraUsers ?? []),
  ];
  const identity = new TestIdentity(
    users,
    [
      {
        client_id: CLIENTS.staffApp.clientId,
        client_secret: CLIENTS.staffApp.secret,
        redirect_uris: REDIRECT,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      {
        client_id: CLIENTS.portal.clientId,
        token_endpoint_auth_method: 'none',
        redirect_uris: REDIRECT,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      {
        client_id: CLIENTS.phrApp.clientId,
        token_endpoint_auth_method: 'none',
        redirect_uris: REDIRECT,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      {
        client_id: CLIENTS.gpSystem.clientId,
        client_secret: CLIENTS.gpSystem.secret,
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
      },
      {
        client_id: CLIENTS.ehrSystem.clientId,
        client_secret: CLIENTS.ehrSystem.secret,
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
      },
      {
        client_id: CLIENTS.operator.clientId,
        client_secret: CLIENTS.operator.secret,
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
      },
      {
        client_id: CLIENTS.questionnaireSystem.clientId,
        client_secret: CLIENTS.questionnaireSystem.secret,
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
      },
    ],
    {
      [CLIENTS.gpSystem.clientId]: { phb_role: 'gp-system', phb_org: gpOds },
      [CLIENTS.ehrSystem.clientId]: { phb_role: 'ehr-system', phb_org: 'RTEST' },
      [CLIENTS.operator.clientId]: { phb_role: 'service-operator' },
      [CLIENTS.questionnaireSystem.clientId]: { phb_role: 'questionnaire-system', phb_team: teamCode },
    },
    options.corsOrigins ?? [],
  );
  await identity.start();

  const spoolDir = freshSpoolDir();
  const auth = testAuth(store, identity.issuer, {
    jwksCooldownMs: options.jwksCooldownMs ?? 500,
    auditSpoolDir: spoolDir,
  });
  const app = createApp({
    store,
    readiness: { conformanceLoaded: true },
    retryAfterSeconds: 5,
    auth,
    ...(options.corsOrigins ? { corsAllowedOrigins: options.corsOrigins } : {}),
  });

  const patientScopes = 'openid fhirUser launch/patient patient/*.cruds';
  const token = async (role: Role): Promise<string> => {
    if ((STAFF_ROLES as readonly string[]).includes(role)) {
      return (await identity.authorizationCode(CLIENTS.staffApp, `${role}-${suffix}`, 'openid fhirUser user/*.cruds'))
        .accessToken;
    }
    switch (role) {
      case 'budget-holder':
        return (await identity.authorizationCode(CLIENTS.portal, `holder-${suffix}`, patientScopes)).accessToken;
      case 'representative':
        return (await identity.authorizationCode(CLIENTS.portal, `rep-${suffix}`, patientScopes)).accessToken;
      case 'phr-app':
        return (await identity.authorizationCode(CLIENTS.phrApp, `holder-${suffix}`, patientScopes)).accessToken;
      case 'service-operator':
        return identity.clientCredentials(CLIENTS.operator, 'system/Basic.rus');
      case 'questionnaire-system':
        return identity.clientCredentials(
          CLIENTS.questionnaireSystem,
          'system/ServiceRequest.c system/Questionnaire.rs',
        );
      case 'ehr-system':
        return identity.clientCredentials(
          CLIENTS.ehrSystem,
          'system/Bundle.c system/Goal.cu system/CarePlan.cu system/Patient.c system/EpisodeOfCare.c',
        );
      default:
        return identity.clientCredentials(CLIENTS.gpSystem, 'system/*.rs');
    }
  };

  const username = (role: Role): string =>
    role === 'budget-holder' || role === 'phr-app'
      ? `holder-${suffix}`
      : role === 'representative'
        ? `rep-${suffix}`
        : `${role}-${suffix}`;

  return {
    store,
    identity,
    auth,
    app,
    spoolDir,
    own,
    other,
    representativeId,
    staffRoleIds,
    consentIds,
    gpOds,
    team: teamCode,
    nhsNumbers,
    token,
    username,
    close: async () => {
      await auth.audit.close();
      removeSpoolDir(spoolDir);
      await identity.stop();
    },
  };
}

/** The AuditEvents HAPI holds about a patient (the test patients are unique to a run, so few). */
export async function auditEventsFor(store: HapiStore, patientId: string): Promise<AuditEvent[]> {
  const bundle: Bundle<AuditEvent> = await store.search<AuditEvent>('AuditEvent', {
    entity: `Patient/${patientId}`,
    _count: 1000,
  });
  return (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
}

export { requestIdOf } from '../../src/audit/auditEvent.js';

export { ROLES };
