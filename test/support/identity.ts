import * as oidc from 'openid-client';
import { SignJWT, importJWK, type JWTPayload } from 'jose';
import type { ClientMetadata, JWK } from 'oidc-provider';
import { startIdentityProvider, type DemoUser, type RunningIdentityProvider } from '../../src/devIdentity/provider.js';
import { newSigningKey } from '../../src/devIdentity/keys.js';

/**
 * A real OpenID Connect provider on loopback for tests (the same code `npm start` runs), and a
 * client that gets real tokens from it: client credentials, and authorization code with PKCE by
 * driving the provider's login and consent pages over HTTP.
 */

export const TEST_AUDIENCE = 'http://127.0.0.1:8080/fhir';
export const REDIRECT_URI = 'http://127.0.0.1:3000/callback';
export const PASSWORD = 'test-password';

export interface TestClient {
  clientId: string;
  secret?: string;
  /** private_key_jwt: the client signs an assertion with this key (its public half is registered). */
  privateKey?: oidc.CryptoKey;
}

/** What a token response gives a SMART app. */
export interface Tokens {
  accessToken: string;
  patient?: string;
  /** The granted scopes as the token response lists them. */
  scope?: string;
  refreshToken?: string;
}

function tokensOf(response: oidc.TokenEndpointResponse): Tokens {
  const { access_token: accessToken, patient, scope, refresh_token: refreshToken } = response;
  return {
    accessToken,
    ...(typeof patient === 'string' ? { patient } : {}),
    ...(scope !== undefined ? { scope } : {}),
    ...(refreshToken !== undefined ? { refreshToken } : {}),
  };
}

export class TestIdentity {
  private running: RunningIdentityProvider | undefined;
  /** Private signing keys at the provider; the first signs. */
  keys: JWK[] = [];

  constructor(
    private readonly users: DemoUser[],
    private readonly clients: ClientMetadata[],
    private readonly clientClaims: Record<string, Record<string, string>>,
    private readonly corsOrigins: readonly string[] = [],
  ) {}

  get issuer(): string {
    if (!this.running) throw new Error('identity provider not started');
    return this.running.issuer;
  }

  async start(port = 0): Promise<void> {
    if (this.keys.length === 0) this.keys = [await newSigningKey()];
    this.running = await startIdentityProvider({
      host: '127.0.0.1',
      port,
      audience: TEST_AUDIENCE,
      users: this.users,
      clients: this.clients,
      clientClaims: this.clientClaims,
      keys: this.keys,
      corsOrigins: this.corsOrigins,
    });
  }

  /** Gets tokens from a provider already running elsewhere (e.g. in a process of its own) instead of starting one. */
  useRunning(issuer: string): void {
    this.running = { issuer, port: Number(new URL(issuer).port), close: async () => undefined };
  }

  async stop(): Promise<void> {
    await this.running?.close();
    this.running = undefined;
  }

  /** Key rotation as a provider does it: a new signing key first, the old one still published; same issuer and port. */
  async rotateKeys(): Promise<void> {
    const port = this.running?.port ?? 0;
    await this.stop();
    this.keys = [await newSigningKey(), ...this.keys];
    await this.start(port);
  }

  addUser(user: DemoUser): void {
    this.users.push(user);
  }

  private async configuration(client: TestClient): Promise<oidc.Configuration> {
    const auth = client.privateKey
      ? oidc.PrivateKeyJwt(client.privateKey)
      : client.secret
        ? oidc.ClientSecretBasic(client.secret)
        : oidc.None();
    return oidc.discovery(
      new URL(this.issuer),
      client.clientId,
      client.secret ? { client_secret: client.secret } : undefined,
      auth,
      {
        execute: [oidc.allowInsecureRequests],
      },
    );
  }

  async clientCredentials(client: TestClient, scope: string): Promise<string> {
    return (await this.clientCredentialsTokens(client, scope)).accessToken;
  }

  async clientCredentialsTokens(client: TestClient, scope: string): Promise<Tokens> {
    const config = await this.configuration(client);
    return tokensOf(await oidc.clientCredentialsGrant(config, { scope, resource: TEST_AUDIENCE }));
  }

  /** A refresh token grant, as an app does once its access token has expired. */
  async refresh(client: TestClient, refreshToken: string): Promise<Tokens> {
    const config = await this.configuration(client);
    return tokensOf(await oidc.refreshTokenGrant(config, refreshToken, { resource: TEST_AUDIENCE }));
  }

  /** The whole authorization code flow with PKCE (S256), as a browser would do it. */
  async authorizationCode(client: TestClient, username: string, scope: string): Promise<Tokens> {
    const config = await this.configuration(client);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const start = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope,
      state,
      resource: TEST_AUDIENCE,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await new Browser().signIn(start, username, PASSWORD);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return tokensOf(tokens);
  }

  /** Signs in on the provider's pages from an authorization URL an app built, returning the redirect back to the app. */
  async signIn(start: URL, username: string): Promise<URL> {
    return new Browser().signIn(start, username, PASSWORD);
  }

  /** A token signed with the provider's current key (or another), for forging one bad claim at a time. */
  async sign(payload: JWTPayload, options: { key?: JWK; kid?: string; alg?: string } = {}): Promise<string> {
    const jwk = options.key ?? this.keys[0];
    if (!jwk) throw new Error('no key');
    const alg = options.alg ?? 'RS256';
    return new SignJWT(payload)
      .setProtectedHeader({ alg, typ: 'at+jwt', kid: options.kid ?? jwk.kid ?? 'none' })
      .sign(await importJWK(jwk as Parameters<typeof importJWK>[0], alg));
  }

  /** Standard good claims for a forged token; override one to make it bad. */
  claims(extra: JWTPayload = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: this.issuer,
      aud: TEST_AUDIENCE,
      sub: 'forged',
      client_id: 'forged-client',
      iat: now,
      exp: now + 300,
      scope: 'user/*.cruds',
      ...extra,
    };
  }
}

/** Just enough of a browser: follows redirects, keeps cookies, fills in the login and consent forms. */
class Browser {
  private readonly cookies = new Map<string, string>();

  async signIn(start: URL, username: string, password: string): Promise<URL> {
    let url = start;
    let form: URLSearchParams | undefined;
    for (let step = 0; step < 12; step++) {
      if (url.href.startsWith(REDIRECT_URI)) return url;
      const res = await fetch(url, {
        method: form ? 'POST' : 'GET',
        redirect: 'manual',
        headers: {
          cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
          ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(form ? { body: form.toString() } : {}),
      });
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const [name, value] = (pair ?? '').split('=');
        if (!name) continue;
        if (value) this.cookies.set(name.trim(), value);
        else this.cookies.delete(name.trim());
      }
      const location = res.headers.get('location');
      if (location) {
        url = new URL(location, url);
        form = undefined;
        continue;
      }
      const page = await res.text();
      if (res.status !== 200) throw new Error(`sign-in failed at ${url.pathname}: HTTP ${res.status}`);
      // Stay on the page and post its form.
      if (page.includes('name="username"')) form = new URLSearchParams({ username, password });
      else if (page.includes('name="decision"')) form = new URLSearchParams({ decision: 'allow' });
      else throw new Error(`unexpected page at ${url.pathname}`);
    }
    throw new Error('sign-in did not reach the redirect URI');
  }
}
