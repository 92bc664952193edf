import type { ClientMetadata } from 'oidc-provider';
import { STAFF_ROLES } from '../domain/codes.js';
import { DEV_IDENTITY } from '../config/config.js';
import type { DemoUser } from './provider.js';

/**
 * Demo users (one per role) and demo clients for the development provider. The ids are what the
 * tokens say; a matching Patient, RelatedPerson, PractitionerRole and CareTeam must exist in HAPI
 * for the facade to let them see anything (README, "Development identity").
 */
export const DEMO_PASSWORD = 'demo-only';
export const DEMO_PATIENT_ID = 'demo-budget-holder';
export const DEMO_REDIRECT_URI = `${DEV_IDENTITY.appOrigin}/callback`;
export const DEMO_GP_ODS = 'Y00001';
/** The secondary care trust whose EHR sends goals in. */
export const DEMO_TRUST_ODS = 'RDEMO';

export const DEMO_USERS: readonly DemoUser[] = [
  ...STAFF_ROLES.map((role) => ({
    username: role,
    password: DEMO_PASSWORD,
    claims: { fhirUser: `PractitionerRole/demo-${role}`, phb_role: role },
  })),
  {
    username: 'budget-holder',
    password: DEMO_PASSWORD,
    claims: { fhirUser: `Patient/${DEMO_PATIENT_ID}`, patient: DEMO_PATIENT_ID },
  },
  {
    username: 'representative',
    password: DEMO_PASSWORD,
    claims: { fhirUser: 'RelatedPerson/demo-representative', patient: DEMO_PATIENT_ID },
  },
];

export const DEMO_CLIENTS: readonly ClientMetadata[] = [
  // Staff apps run on a server, so they hold a secret; PKCE is still required.
  {
    client_id: 'demo-staff-app',
    client_secret: 'demo-staff-app-secret',
    redirect_uris: [DEMO_REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  },
  // The budget holder's own portal and the PHR app run in browsers or phones: public clients with PKCE.
  {
    client_id: 'demo-portal',
    token_endpoint_auth_method: 'none',
    redirect_uris: [DEMO_REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  },
  {
    client_id: DEV_IDENTITY.phrAppClient,
    token_endpoint_auth_method: 'none',
    redirect_uris: [DEMO_REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  },
  {
    client_id: DEV_IDENTITY.gpSystemClient,
    client_secret: 'demo-gp-system-secret',
    redirect_uris: [],
    grant_types: ['client_credentials'],
    response_types: [],
  },
  // A secondary care EHR sending goals in (POST /fhir with a transaction Bundle).
  {
    client_id: DEV_IDENTITY.ehrSystemClient,
    client_secret: 'demo-ehr-system-secret',
    redirect_uris: [],
    grant_types: ['client_credentials'],
    response_types: [],
  },
];

export const DEMO_CLIENT_CLAIMS: Readonly<Record<string, Record<string, string>>> = {
  [DEV_IDENTITY.gpSystemClient]: { phb_role: 'gp-system', phb_org: DEMO_GP_ODS },
  [DEV_IDENTITY.ehrSystemClient]: { phb_role: 'ehr-system', phb_org: DEMO_TRUST_ODS },
};
