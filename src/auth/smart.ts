import type { CapabilityStatementRestSecurity } from 'fhir/r4.js';
import type { ServerMetadata } from 'openid-client';
import { ROLES, type Role } from './caller.js';
import { PERMISSIONS } from './permissions.js';
import { scopeString, type ScopeContext } from './scopes.js';

/** The SMART scope context each role's tokens are checked in (see callerFromClaims). */
const CONTEXT: Record<Role, ScopeContext> = {
  'care-coordinator': 'user',
  'team-lead': 'user',
  'phb-lead-clinician': 'user',
  'lived-experience-reviewer': 'user',
  commissioner: 'user',
  'phb-advisor': 'user',
  'budget-holder': 'patient',
  representative: 'patient',
  'phr-app': 'patient',
  'gp-system': 'system',
  'ehr-system': 'system',
  'service-operator': 'system',
  'questionnaire-system': 'system',
};

/** Every resource scope some role can use, from the permission table, so discovery cannot drift from it. */
export function supportedScopes(): string[] {
  const scopes = new Set<string>();
  for (const role of ROLES) {
    for (const grant of PERMISSIONS[role]) scopes.add(scopeString(CONTEXT[role], grant.resource, grant.interactions));
  }
  return [...scopes].sort();
}

/** Wildcard scopes apps commonly ask for; what they reach is still cut down by the role's rows. */
export const WILDCARD_SCOPES = ['patient/*.rs', 'patient/*.cruds', 'user/*.rs', 'user/*.cruds', 'system/*.rs'] as const;
export const IDENTITY_SCOPES = ['openid', 'fhirUser', 'launch/patient', 'offline_access'] as const;

export const SMART_CAPABILITIES = [
  'launch-standalone',
  'client-public',
  'client-confidential-symmetric',
  'context-standalone-patient',
  'sso-openid-connect',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
] as const;

/** `/.well-known/smart-configuration` from the first issuer's own discovery document. */
export function smartConfiguration(metadata: ServerMetadata): Record<string, unknown> {
  return {
    issuer: metadata.issuer,
    jwks_uri: metadata.jwks_uri,
    authorization_endpoint: metadata.authorization_endpoint,
    token_endpoint: metadata.token_endpoint,
    ...(metadata.userinfo_endpoint ? { userinfo_endpoint: metadata.userinfo_endpoint } : {}),
    ...(metadata.revocation_endpoint ? { revocation_endpoint: metadata.revocation_endpoint } : {}),
    ...(metadata.introspection_endpoint ? { introspection_endpoint: metadata.introspection_endpoint } : {}),
    grant_types_supported: ['authorization_code', 'client_credentials'],
    response_types_supported: ['code'],
    token_endpoint_auth_methods_supported: metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'],
    scopes_supported: [...IDENTITY_SCOPES, ...WILDCARD_SCOPES, ...supportedScopes()],
    code_challenge_methods_supported: ['S256'],
    capabilities: [...SMART_CAPABILITIES],
  };
}

const SMART_EXTENSION = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

/** The CapabilityStatement's rest.security, for /fhir/metadata. */
export function capabilitySecurity(metadata: ServerMetadata): CapabilityStatementRestSecurity {
  return {
    cors: false,
    service: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] },
    ],
    description:
      'OAuth 2.0 bearer tokens (JWT) from the OpenID Connect issuer below; SMART App Launch v2 scopes. See /.well-known/smart-configuration.',
    extension: [
      {
        url: SMART_EXTENSION,
        extension: [
          { url: 'authorize', valueUri: metadata.authorization_endpoint ?? '' },
          { url: 'token', valueUri: metadata.token_endpoint ?? '' },
        ],
      },
    ],
  };
}
