import type { CapabilityStatementRestSecurity } from 'fhir/r4.js';
import type { ServerMetadata } from 'openid-client';
import { ROLES, type Role } from './caller.js';
import { PERMISSIONS } from './permissions.js';
import { SCOPE_PERMISSIONS, scopeString, type ScopeContext } from './scopes.js';

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

/**
 * Every resource scope, v1 or v2, that means something here in the given contexts: all permission
 * forms on `*` and on each resource type of the permission table. An identity provider may grant
 * any of these as asked; the facade still checks each request against the caller's rows.
 */
export function grantableScopes(contexts: readonly ScopeContext[]): string[] {
  const resources = ['*', ...new Set(ROLES.flatMap((role) => PERMISSIONS[role].map((grant) => grant.resource)))];
  return contexts.flatMap((context) =>
    resources.flatMap((resource) => SCOPE_PERMISSIONS.map((permission) => `${context}/${resource}.${permission}`)),
  );
}

/** Wildcard scopes apps commonly ask for (v2, and v1 for older apps); what they reach is still cut down by the role's rows. */
export const WILDCARD_SCOPES = [
  'patient/*.rs',
  'patient/*.cruds',
  'user/*.rs',
  'user/*.cruds',
  'system/*.rs',
  'patient/*.read',
  'user/*.read',
  'user/*.write',
  'system/*.read',
] as const;
export const IDENTITY_SCOPES = ['openid', 'fhirUser', 'launch/patient', 'offline_access'] as const;

/** Capabilities that hold whatever the issuer offers; the client authentication ones follow its discovery. */
export const SMART_CAPABILITIES = [
  'launch-standalone',
  'context-standalone-patient',
  'sso-openid-connect',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
] as const;

/** The grant types SMART apps use, as far as the issuer offers them. */
const SMART_GRANT_TYPES = ['authorization_code', 'client_credentials', 'refresh_token'] as const;

/**
 * SMART's client authentication capabilities the issuer really offers: public clients (`none`),
 * client secrets, and private_key_jwt only when RS384 or ES384, the algorithms SMART requires, are
 * accepted for it.
 */
function clientCapabilities(metadata: ServerMetadata): string[] {
  const methods = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  const algorithms = metadata.token_endpoint_auth_signing_alg_values_supported ?? [];
  return [
    ...(methods.includes('none') ? ['client-public'] : []),
    ...(methods.some((m) => m === 'client_secret_basic' || m === 'client_secret_post')
      ? ['client-confidential-symmetric']
      : []),
    ...(methods.includes('private_key_jwt') && algorithms.some((a) => a === 'RS384' || a === 'ES384')
      ? ['client-confidential-asymmetric']
      : []),
  ];
}

/** `/.well-known/smart-configuration` from the first issuer's own discovery document. */
export function smartConfiguration(metadata: ServerMetadata): Record<string, unknown> {
  // OpenID Connect Discovery's default when the issuer does not say.
  const offered = metadata.grant_types_supported ?? ['authorization_code', 'implicit'];
  return {
    issuer: metadata.issuer,
    jwks_uri: metadata.jwks_uri,
    authorization_endpoint: metadata.authorization_endpoint,
    token_endpoint: metadata.token_endpoint,
    ...(metadata.userinfo_endpoint ? { userinfo_endpoint: metadata.userinfo_endpoint } : {}),
    ...(metadata.revocation_endpoint ? { revocation_endpoint: metadata.revocation_endpoint } : {}),
    ...(metadata.introspection_endpoint ? { introspection_endpoint: metadata.introspection_endpoint } : {}),
    grant_types_supported: SMART_GRANT_TYPES.filter((g) => offered.includes(g)),
    response_types_supported: ['code'],
    token_endpoint_auth_methods_supported: metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'],
    scopes_supported: [...IDENTITY_SCOPES, ...WILDCARD_SCOPES, ...supportedScopes()],
    code_challenge_methods_supported: ['S256'],
    ...(metadata.token_endpoint_auth_signing_alg_values_supported
      ? { token_endpoint_auth_signing_alg_values_supported: metadata.token_endpoint_auth_signing_alg_values_supported }
      : {}),
    capabilities: [...SMART_CAPABILITIES, ...clientCapabilities(metadata)],
  };
}

const SMART_EXTENSION = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

/** The CapabilityStatement's rest.security, for /fhir/metadata. */
export function capabilitySecurity(metadata: ServerMetadata, cors: boolean): CapabilityStatementRestSecurity {
  return {
    cors,
    service: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] },
    ],
    description:
      'OAuth 2.0 bearer tokens (JWT) from the OpenID Connect issuer below; SMART App Launch v2 scopes (v1 ones read as their v2 equivalents). See /.well-known/smart-configuration.',
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
