import type { Bundle } from 'fhir/r4.js';
import { authorize, type AccessFacts, type AccessRequest } from '../../src/auth/authorize.js';
import { callerFromClaims, type Caller } from '../../src/auth/caller.js';
import { patientOf } from '../../src/fhir/compartment.js';
import { consentGrants } from '../../src/fhir/consent.js';
import { PERMISSIONS } from '../../src/auth/permissions.js';
import { parseScope, parseScopes, scopesAllow } from '../../src/auth/scopes.js';
import { grantableScopes, smartConfiguration, supportedScopes } from '../../src/auth/smart.js';
import { toAuditEvent } from '../../src/audit/auditEvent.js';
import { withProvenance, writeProvenance } from '../../src/audit/provenance.js';
import { AppError } from '../../src/outcome/errors.js';
import { phrConsent } from '../support/consents.js';

describe('SMART scopes', () => {
  it('parses v2 letters in order and v1 read/write', () => {
    expect([...(parseScope('patient/*.rs')?.interactions ?? [])]).toEqual(['read', 'search']);
    expect(parseScope('user/CarePlan.cruds')).toMatchObject({ context: 'user', resource: 'CarePlan' });
    expect([...(parseScope('user/CarePlan.cruds')?.interactions ?? [])]).toEqual([
      'create',
      'read',
      'update',
      'delete',
      'search',
    ]);
    expect([...(parseScope('system/Bundle.r')?.interactions ?? [])]).toEqual(['read']);
    expect([...(parseScope('patient/Goal.read')?.interactions ?? [])]).toEqual(['read', 'search']);
    expect([...(parseScope('user/Task.write')?.interactions ?? [])]).toEqual(['create', 'update', 'delete']);
  });

  it('reads v1 scopes as SMART 2.x maps them to v2: read = rs, write = cud, * = cruds', () => {
    const same = (v1: string, v2: string): void =>
      expect({ ...parseScope(v1), interactions: [...(parseScope(v1)?.interactions ?? [])] }).toEqual({
        ...parseScope(v2),
        interactions: [...(parseScope(v2)?.interactions ?? [])],
      });
    same('patient/*.read', 'patient/*.rs');
    same('patient/CarePlan.read', 'patient/CarePlan.rs');
    same('user/*.write', 'user/*.cud');
    same('user/Goal.*', 'user/Goal.cruds');
    same('system/*.read', 'system/*.rs');
    const v1 = parseScopes('patient/CarePlan.read user/*.write');
    expect(scopesAllow(v1, 'patient', 'CarePlan', 'search')).toBe(true);
    expect(scopesAllow(v1, 'patient', 'CarePlan', 'update')).toBe(false);
    expect(scopesAllow(v1, 'patient', 'Goal', 'read')).toBe(false);
    expect(scopesAllow(v1, 'user', 'Task', 'delete')).toBe(true);
    expect(scopesAllow(v1, 'user', 'Task', 'read')).toBe(false);
  });

  it('lets an identity provider grant every v1 and v2 form, per context, and nothing that parses to nothing', () => {
    const user = grantableScopes(['patient', 'user']);
    expect(user).toEqual(
      expect.arrayContaining([
        'patient/*.read',
        'patient/CarePlan.read',
        'patient/CarePlan.r',
        'patient/*.cruds',
        'user/*.write',
        'user/*.*',
        'user/Consent.crus',
      ]),
    );
    expect(user.some((s) => s.startsWith('system/'))).toBe(false);
    expect(grantableScopes(['system'])).toEqual(expect.arrayContaining(['system/*.read', 'system/Bundle.c']));
    for (const s of user) expect(parseScope(s)).toBeDefined();
    expect(new Set(user).size).toBe(user.length);
    // Every scope discovery lists is one a provider may grant.
    expect(grantableScopes(['patient', 'user', 'system'])).toEqual(expect.arrayContaining(supportedScopes()));
  });

  it('advertises only the client authentication and grant types the issuer offers', () => {
    const base = { issuer: 'https://idp.example', authorization_endpoint: 'https://idp.example/auth' };
    const symmetric = smartConfiguration({
      ...base,
      grant_types_supported: ['authorization_code', 'implicit', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256'],
    });
    expect(symmetric.grant_types_supported).toEqual(['authorization_code', 'refresh_token']);
    expect(symmetric.capabilities).toContain('client-confidential-symmetric');
    expect(symmetric.capabilities).not.toContain('client-confidential-asymmetric');
    expect(symmetric.capabilities).not.toContain('client-public');
    const asymmetric = smartConfiguration({
      ...base,
      token_endpoint_auth_methods_supported: ['none', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'ES384'],
    });
    expect(asymmetric.grant_types_supported).toEqual(['authorization_code']);
    expect(asymmetric.capabilities).toEqual(
      expect.arrayContaining(['client-public', 'client-confidential-asymmetric']),
    );
    expect(asymmetric.capabilities).not.toContain('client-confidential-symmetric');
  });

  it('grants nothing for malformed, out-of-order or query-restricted scopes', () => {
    for (const s of [
      'patient/*.sr',
      'patient/CarePlan.',
      'openid',
      'launch/patient',
      'patient/Observation.rs?category=vital-signs',
      'admin/*.rs',
      'patient/carePlan.r',
    ]) {
      expect(parseScope(s)).toBeUndefined();
    }
  });

  it('checks context, resource and interaction together', () => {
    const scopes = parseScopes('openid fhirUser patient/CarePlan.rs patient/Goal.u');
    expect(scopesAllow(scopes, 'patient', 'CarePlan', 'search')).toBe(true);
    expect(scopesAllow(scopes, 'user', 'CarePlan', 'read')).toBe(false);
    expect(scopesAllow(scopes, 'patient', 'Goal', 'read')).toBe(false);
    expect(scopesAllow(scopes, 'patient', 'Goal', 'update')).toBe(true);
  });

  it('advertises exactly the scopes the permission table can use', () => {
    expect(supportedScopes()).toEqual(
      expect.arrayContaining(['patient/Patient.r', 'user/Consent.crus', 'system/Patient.r', 'system/Goal.c']),
    );
    expect(supportedScopes().some((s) => s.startsWith('system/Consent'))).toBe(false);
  });
});

const base = {
  iss: 'https://idp.example',
  sub: 'u1',
  client_id: 'app',
  scope: 'patient/*.rs user/*.cruds system/*.rs',
};

describe('claims to caller', () => {
  const settings = { phrAppClients: ['phr'] };
  it('maps staff, people, PHR apps and systems', () => {
    expect(
      callerFromClaims({ ...base, phb_role: 'team-lead', fhirUser: 'PractitionerRole/pr1' }, settings),
    ).toMatchObject({ kind: 'staff', role: 'team-lead', practitionerRoleId: 'pr1', scopeContext: 'user' });
    expect(callerFromClaims({ ...base, fhirUser: 'https://fhir.example/Patient/p1' }, settings)).toMatchObject({
      kind: 'person',
      role: 'budget-holder',
      patientId: 'p1',
    });
    expect(callerFromClaims({ ...base, fhirUser: 'RelatedPerson/r1', patient: 'p1' }, settings)).toMatchObject({
      kind: 'person',
      role: 'representative',
      patientId: 'p1',
    });
    expect(
      callerFromClaims({ ...base, client_id: 'phr', fhirUser: 'Patient/p1', patient: 'p1' }, settings),
    ).toMatchObject({ kind: 'phr-app', role: 'phr-app', patientId: 'p1' });
    expect(callerFromClaims({ ...base, phb_role: 'gp-system', phb_org: 'Y1' }, settings)).toMatchObject({
      kind: 'system',
      organisationOds: 'Y1',
      scopeContext: 'system',
    });
  });

  it('refuses tokens that name no usable identity, with 403', () => {
    const bad = [
      { ...base, phb_role: 'care-coordinator' },
      { ...base, phb_role: 'wizard', fhirUser: 'PractitionerRole/x' },
      { ...base, fhirUser: 'Patient/p1', patient: 'p2' },
      { ...base, fhirUser: 'RelatedPerson/r1' },
      { ...base, client_id: 'phr', fhirUser: 'PractitionerRole/x' },
      { ...base, phb_role: 'gp-system', fhirUser: 'Patient/p1' },
      { iss: 'x', sub: 'y' },
    ];
    for (const claims of bad) {
      expect(() => callerFromClaims(claims, settings)).toThrow(AppError);
    }
  });
});

describe('the access decision', () => {
  const facts = (overrides: Partial<Record<keyof AccessFacts, boolean>> = {}): AccessFacts => ({
    consentActive: async () => overrides.consentActive ?? true,
    onTeam: async () => overrides.onTeam ?? true,
    memberOfTeam: async () => overrides.memberOfTeam ?? true,
    onCaseload: async () => overrides.onCaseload ?? true,
    registeredWith: async () => overrides.registeredWith ?? true,
    represents: async () => overrides.represents ?? true,
  });
  const caller = (claims: Record<string, string>): Caller =>
    callerFromClaims({ ...base, ...claims }, { phrAppClients: ['phr'] });
  const holder = caller({ fhirUser: 'Patient/p1' });
  const phr = caller({ client_id: 'phr', fhirUser: 'Patient/p1', patient: 'p1' });
  const coordinator = caller({ phb_role: 'care-coordinator', fhirUser: 'PractitionerRole/pr1' });
  const commissioner = caller({ phb_role: 'commissioner', fhirUser: 'PractitionerRole/pr2' });

  it('denies by default: a resource no row names', async () => {
    expect(
      await authorize(holder, { resource: 'Medication', interaction: 'read', patientId: 'p1' }, facts()),
    ).toMatchObject({ allowed: false });
    expect(
      await authorize(coordinator, { resource: 'AuditEvent', interaction: 'search', patientId: 'p1' }, facts()),
    ).toMatchObject({ allowed: false });
  });

  it('keeps patient callers in their own compartment', async () => {
    expect(
      await authorize(holder, { resource: 'Patient', interaction: 'read', patientId: 'p1' }, facts()),
    ).toMatchObject({ allowed: true });
    expect(
      await authorize(holder, { resource: 'Patient', interaction: 'read', patientId: 'p2' }, facts()),
    ).toMatchObject({ allowed: false, reason: expect.stringMatching(/compartment/) });
  });

  it("needs the person's consent for a PHR app", async () => {
    expect(await authorize(phr, { resource: 'CarePlan', interaction: 'read', patientId: 'p1' }, facts())).toMatchObject(
      { allowed: true },
    );
    expect(
      await authorize(
        phr,
        { resource: 'CarePlan', interaction: 'read', patientId: 'p1' },
        facts({ consentActive: false }),
      ),
    ).toMatchObject({ allowed: false, reason: expect.stringMatching(/consent/) });
  });

  it('limits staff to their team and keeps commissioners from demographics', async () => {
    expect(
      await authorize(coordinator, { resource: 'CarePlan', interaction: 'update', patientId: 'p1' }, facts()),
    ).toMatchObject({ allowed: true });
    expect(
      await authorize(
        coordinator,
        { resource: 'CarePlan', interaction: 'update', patientId: 'p1' },
        facts({ onTeam: false }),
      ),
    ).toMatchObject({ allowed: false });
    expect(await authorize(coordinator, { resource: 'CarePlan', interaction: 'search' }, facts())).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/Name the patient/),
    });
    expect(
      await authorize(commissioner, { resource: 'Patient', interaction: 'read', patientId: 'p1' }, facts()),
    ).toMatchObject({ allowed: false });
    expect(
      await authorize(
        commissioner,
        { resource: 'QuestionnaireResponse', interaction: 'read', patientId: 'p1' },
        facts(),
      ),
    ).toMatchObject({ allowed: false });
  });

  it("lets a questionnaire system ask only for a team its token names, and only that team's caseload", async () => {
    const sender = caller({ phb_role: 'questionnaire-system', phb_team: 'team-a team-b', scope: 'system/*.cruds' });
    const ask = (team?: string): AccessRequest => ({
      resource: 'ServiceRequest',
      interaction: 'create',
      patientId: 'p1',
      ...(team ? { team } : {}),
    });
    expect(await authorize(sender, ask('team-b'), facts())).toMatchObject({ allowed: true });
    expect(await authorize(sender, ask(), facts())).toMatchObject({ allowed: false, reason: /Name the team/ });
    expect(await authorize(sender, ask('team-c'), facts())).toMatchObject({ allowed: false, reason: /team-c/ });
    expect(await authorize(sender, ask('team-a'), facts({ onCaseload: false }))).toMatchObject({ allowed: false });
    // Its row covers the requests and the definitions, nothing of the record.
    expect(
      await authorize(sender, { resource: 'Patient', interaction: 'read', patientId: 'p1', team: 'team-a' }, facts()),
    ).toMatchObject({ allowed: false, stage: 'grant' });
  });

  it('holds staff naming a team to that team: they must be on it and the person on its caseload', async () => {
    const ask = { resource: 'ServiceRequest', interaction: 'create', patientId: 'p1', team: 'team-a' } as const;
    expect(await authorize(coordinator, ask, facts())).toMatchObject({ allowed: true });
    expect(await authorize(coordinator, ask, facts({ memberOfTeam: false }))).toMatchObject({ allowed: false });
    expect(await authorize(coordinator, ask, facts({ onCaseload: false }))).toMatchObject({ allowed: false });
  });

  it('needs both the role and the token scope', async () => {
    const narrow = caller({ fhirUser: 'Patient/p1', scope: 'patient/CarePlan.r' });
    expect(
      await authorize(narrow, { resource: 'CarePlan', interaction: 'search', patientId: 'p1' }, facts()),
    ).toMatchObject({ allowed: false, missingScope: 'patient/CarePlan.s' });
  });

  it('has a row list for every role, and no role writes AuditEvents through the API', () => {
    for (const grants of Object.values(PERMISSIONS))
      expect(grants.some((g) => g.resource === 'AuditEvent')).toBe(false);
  });
});

describe('the consent rule', () => {
  it("grants when the person's latest decision for the app is a yes", () => {
    expect(consentGrants([phrConsent()], 'p1', 'phr')).toBe(true);
    const later = { id: 'c2', dateTime: '2026-02-01T00:00:00Z' };
    expect(consentGrants([phrConsent({ status: 'inactive' }), phrConsent(later)], 'p1', 'phr')).toBe(true);
    // An earlier yes grants nothing once a later withdrawal exists.
    expect(consentGrants([phrConsent(), phrConsent({ ...later, status: 'inactive' })], 'p1', 'phr')).toBe(false);
  });

  it("grants nothing when withdrawn, refused, someone else's, for another app, malformed or absent", () => {
    expect(consentGrants([phrConsent({ status: 'inactive' })], 'p1', 'phr')).toBe(false);
    expect(consentGrants([phrConsent({ status: 'rejected' })], 'p1', 'phr')).toBe(false);
    expect(consentGrants([phrConsent({ budgetHolderId: 'p2' })], 'p1', 'phr')).toBe(false);
    expect(consentGrants([phrConsent({ recipient: 'other-app' })], 'p1', 'phr')).toBe(false);
    expect(consentGrants([{ ...phrConsent(), provision: { type: 'permit' } }], 'p1', 'phr')).toBe(false);
    expect(consentGrants([], 'p1', 'phr')).toBe(false);
  });
});

describe('audit and provenance shapes', () => {
  const rep = callerFromClaims({ ...base, fhirUser: 'RelatedPerson/r1', patient: 'p1' }, { phrAppClients: [] });

  it('records who, which app, whose data, what and the request id, without free text', () => {
    const event = toAuditEvent({
      caller: rep,
      resource: 'CarePlan',
      resourceId: 'cp1',
      interaction: 'read',
      patientId: 'p1',
      outcome: 'success',
      requestId: 'req-12345',
      time: '2025-01-01T00:00:00Z',
    });
    expect(event).toMatchObject({ action: 'R', outcome: '0', recorded: '2025-01-01T00:00:00Z' });
    expect(event.agent[0]).toMatchObject({
      requestor: true,
      who: { reference: 'RelatedPerson/r1' },
      role: [{ coding: [{ code: 'representative' }] }],
    });
    expect(event.agent[1]).toMatchObject({ who: { identifier: { value: 'app' } } });
    expect(event.entity?.map((e) => e.what)).toEqual([
      { reference: 'CarePlan/cp1' },
      { reference: 'Patient/p1' },
      { identifier: { value: 'req-12345' } },
    ]);
  });

  it("builds Provenance on the person's behalf and adds it to a transaction", () => {
    const p = writeProvenance(rep, [{ reference: 'Goal/g1' }], 'UPDATE', '2025-01-01T00:00:00Z');
    expect(p.agent[0]).toMatchObject({
      who: { reference: 'RelatedPerson/r1' },
      onBehalfOf: { reference: 'Patient/p1' },
    });
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:1',
          resource: {
            resourceType: 'Goal',
            lifecycleStatus: 'active',
            description: { text: 'x' },
            subject: { reference: 'Patient/p1' },
          },
          request: { method: 'POST', url: 'Goal' },
        },
      ],
    };
    const out = withProvenance(bundle, rep, 'CREATE');
    expect(out.entry).toHaveLength(2);
    expect(out.entry?.[1]?.resource).toMatchObject({
      resourceType: 'Provenance',
      target: [{ reference: 'urn:uuid:1' }],
    });
  });

  it('finds the patient compartment of stored resources', () => {
    expect(
      patientOf({ resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: 'Patient/p9' } }),
    ).toBe('p9');
    expect(patientOf({ resourceType: 'Questionnaire', status: 'active' })).toBeUndefined();
  });
});
