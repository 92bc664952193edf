import http from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Provider, {
  errors,
  type ClientMetadata,
  type Configuration,
  type JWK,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import { decodeJwt } from 'jose';
import { IDENTITY_SCOPES, grantableScopes } from '../auth/smart.js';
import type { ScopeContext } from '../auth/scopes.js';
import { renderConsent, renderLogin, readForm } from './pages.js';

/**
 * A real OpenID Connect provider (the `oidc-provider` package) for development and tests only:
 * demo users log in with a password, apps get signed JWT access tokens for the facade (audience =
 * the facade, RFC 8707 resource indicators) carrying SMART's `fhirUser` and `patient` and our
 * `phb_role`/`phb_org`. Keys live in memory; production uses NHS login, CIS2 or the like.
 */

export interface DemoUser {
  username: string;
  password: string;
  /** Token claims: fhirUser, and patient / phb_role / phb_org as the user's kind needs. */
  claims: Record<string, string>;
}

export interface IdentityProviderOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  audience: string;
  users: readonly DemoUser[];
  clients: readonly ClientMetadata[];
  /** Claims put in client-credentials tokens, per client (e.g. phb_role gp-system, phb_org). */
  clientClaims: Readonly<Record<string, Record<string, string>>>;
  /** Private signing keys; the first signs. */
  keys: readonly JWK[];
  accessTokenTtlSeconds?: number;
  /** Browser origins whose apps may call the token endpoint (CORS_ALLOWED_ORIGINS); none when absent. */
  corsOrigins?: readonly string[];
}

export interface RunningIdentityProvider {
  issuer: string;
  port: number;
  close(): Promise<void>;
}

function passwordMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The SMART contexts a client's resource scopes may name: `patient/` and `user/` for apps a person
 * signs in to, `system/` for backend services (client credentials), as SMART separates them.
 */
function scopeContexts(grantTypes: readonly string[]): ScopeContext[] {
  return [
    ...(grantTypes.includes('authorization_code') ? (['patient', 'user'] as const) : []),
    ...(grantTypes.includes('client_credentials') ? (['system'] as const) : []),
  ];
}

/** The resource scopes the provider may grant a client (it grants those asked for among them), kept per context set: the list is long. */
const grantable = new Map<string, string>();
function resourceScopesFor(grantTypes: readonly string[]): string {
  const contexts = scopeContexts(grantTypes);
  const key = contexts.join(' ');
  let scopes = grantable.get(key);
  if (scopes === undefined) {
    scopes = grantableScopes(contexts).join(' ');
    grantable.set(key, scopes);
  }
  return scopes;
}

function configuration(options: IdentityProviderOptions): Configuration {
  const users = new Map(options.users.map((u) => [u.username, u]));
  const ttl = options.accessTokenTtlSeconds ?? 600;
  const corsOrigins = new Set(options.corsOrigins ?? []);
  return {
    clients: [...options.clients],
    jwks: { keys: [...options.keys] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: [...IDENTITY_SCOPES],
    claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
    findAccount: (_ctx, sub) => {
      const user = users.get(sub);
      if (!user) return undefined;
      return { accountId: sub, claims: () => ({ sub, fhirUser: user.claims.fhirUser }) };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => {
          if (resource !== options.audience) throw new errors.InvalidTarget();
          return {
            scope: resourceScopesFor(client?.grantTypes ?? []),
            audience: options.audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: ttl,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: (_ctx, token) => {
      if (token.kind === 'ClientCredentials') return options.clientClaims[token.clientId ?? ''];
      const user = token.accountId ? users.get(token.accountId) : undefined;
      return user ? { ...user.claims } : undefined;
    },
    // The token endpoint answers browser apps from the configured origins only; discovery and JWKS stay open to any (public, no credentials).
    clientBasedCORS: (_ctx, origin) => corsOrigins.has(origin),
    // Every use of a refresh token gives a new one, and using a spent one again revokes the whole grant (a stolen copy is found out).
    rotateRefreshToken: true,
    // SMART asks for RS384 and ES384 for private_key_jwt (asymmetric client authentication, e.g. backend services).
    enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'RS384', 'PS256', 'ES256', 'ES384'] },
    ttl: {
      AccessToken: ttl,
      ClientCredentials: ttl,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      // offline_access outlives the sign-in: refresh tokens (and the grant they rest on) last a day.
      Grant: 86400,
      RefreshToken: 86400,
      IdToken: 600,
    },
  };
}

/** Login with a demo user's password, then the consent page; both are plain HTML forms. */
async function interaction(
  provider: Provider,
  users: ReadonlyMap<string, DemoUser>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  if (req.method === 'GET') {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.end(
      prompt.name === 'login'
        ? renderLogin(details.uid, String(params.client_id))
        : renderConsent(details.uid, String(params.client_id), String(params.scope ?? '')),
    );
    return;
  }
  const form = await readForm(req);
  if (prompt.name === 'login') {
    const user = users.get(form.get('username') ?? '');
    if (!user || !passwordMatches(form.get('password') ?? '', user.password)) {
      res.statusCode = 401;
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(renderLogin(details.uid, String(params.client_id), 'Unknown user or wrong password'));
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.username } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  if (form.get('decision') !== 'allow') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user did not allow access' },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  const accountId = details.session?.accountId;
  const clientId = String(params.client_id);
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId });
  if (!grant) throw new Error('grant not found');
  const missing = prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
    grant.addResourceScope(indicator, scopes.join(' '));
  await provider.interactionFinished(
    req,
    res,
    { consent: { grantId: await grant.save() } },
    { mergeWithLastSubmission: true },
  );
}

/**
 * What SMART apps expect in the token response besides the token: the patient in context (the
 * token carries it too), and in `scope` everything granted. oidc-provider lists only the access
 * token's resource scopes there; the granted OpenID ones (openid, fhirUser, launch/patient,
 * offline_access) are put first.
 */
async function smartTokenResponse(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  const body = ctx.body as { access_token?: unknown; scope?: unknown } | undefined;
  if (ctx.path !== '/token' || ctx.status !== 200 || typeof body?.access_token !== 'string') return;
  const patient = decodeJwt(body.access_token).patient;
  const { Grant: grant, AuthorizationCode: code, RefreshToken: refresh } = ctx.oidc.entities;
  const asked = ctx.oidc.params?.scope ? ctx.oidc.requestParamScopes : (code ?? refresh)?.scopes;
  const identity = grant && asked ? grant.getOIDCScopeFiltered(asked) : '';
  const scope = [identity, typeof body.scope === 'string' ? body.scope : ''].filter((s) => s !== '').join(' ');
  ctx.body = { ...body, ...(scope ? { scope } : {}), ...(typeof patient === 'string' ? { patient } : {}) };
}

/**
 * OpenID Connect grants offline_access only along with prompt=consent, which SMART apps do not
 * send; the person is asked on the consent page anyway, so a sign-in asking for offline_access
 * without any prompt gets prompt=consent added. A request naming another prompt is left as it is
 * (and gets no refresh token).
 */
async function consentForOfflineAccess(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  if (ctx.method === 'GET' && ctx.path === '/auth') {
    const params = new URLSearchParams(ctx.querystring);
    if ((params.get('scope') ?? '').split(' ').includes('offline_access') && !params.has('prompt')) {
      params.set('prompt', 'consent');
      ctx.querystring = params.toString();
    }
  }
  await next();
}

export async function startIdentityProvider(options: IdentityProviderOptions): Promise<RunningIdentityProvider> {
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://${options.host}:${port}`;
  const provider = new Provider(issuer, configuration(options));
  provider.use(consentForOfflineAccess);
  provider.use(smartTokenResponse);
  const users = new Map(options.users.map((u) => [u.username, u]));
  const callback = provider.callback();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (/^\/interaction\/[^/?]+$/.test((req.url ?? '').split('?')[0] ?? '')) {
      interaction(provider, users, req, res).catch(() => {
        if (!res.headersSent) res.statusCode = 400;
        res.end('The sign-in could not be completed: start again from the app.');
      });
      return;
    }
    void callback(req, res);
  });
  return {
    issuer,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
