import * as oidc from 'openid-client';
import type { Destination } from '../config/destinations.js';

/** The token endpoint could not give us a token: the destination is unusable until it can. */
export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

function errorName(e: unknown): string {
  const name = (e as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : 'error';
}

/** Renew this long before expiry, so a token never expires on the way. */
const EXPIRY_MARGIN_MS = 30000;

/**
 * Client-credentials access tokens for one destination (openid-client): fetched once, cached
 * until shortly before expiry, fetched again when the destination answers 401. Concurrent
 * callers share one token request.
 */
export class TokenSource {
  private configuration: oidc.Configuration | undefined;
  private cached: { token: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;
  /** Tokens obtained, for the delivery status. */
  issued = 0;

  constructor(
    private readonly destination: Destination,
    private readonly now: () => number = Date.now,
  ) {}

  async token(): Promise<string> {
    if (this.cached && this.now() < this.cached.expiresAt) return this.cached.token;
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** The destination refused this token (401): the next call fetches another. */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async config(): Promise<oidc.Configuration> {
    if (this.configuration) return this.configuration;
    const { auth } = this.destination;
    const clientAuth =
      auth.method === 'client_secret_basic'
        ? oidc.ClientSecretBasic(auth.clientSecret)
        : oidc.ClientSecretPost(auth.clientSecret);
    // Plain http is only configurable on loopback outside production (config/destinations.ts).
    const insecure = [auth.issuer, auth.tokenEndpoint].some((u) => u?.startsWith('http://'));
    const timeout = Math.ceil(this.destination.timeoutMs / 1000);
    if (auth.tokenEndpoint !== undefined) {
      const config = new oidc.Configuration(
        { issuer: auth.issuer ?? new URL(auth.tokenEndpoint).origin, token_endpoint: auth.tokenEndpoint },
        auth.clientId,
        auth.clientSecret,
        clientAuth,
      );
      if (insecure) oidc.allowInsecureRequests(config);
      config.timeout = timeout;
      this.configuration = config;
    } else {
      this.configuration = await oidc.discovery(
        new URL(auth.issuer as string),
        auth.clientId,
        auth.clientSecret,
        clientAuth,
        {
          timeout,
          ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
        },
      );
    }
    return this.configuration;
  }

  private async fetchToken(): Promise<string> {
    const { auth } = this.destination;
    try {
      const config = await this.config();
      const parameters: Record<string, string> = {};
      if (auth.scope) parameters.scope = auth.scope;
      if (auth.resource) parameters.resource = auth.resource;
      const response = await oidc.clientCredentialsGrant(config, parameters);
      const lifetimeMs = (response.expiresIn() ?? 300) * 1000;
      this.cached = {
        token: response.access_token,
        expiresAt: this.now() + Math.max(0, lifetimeMs - EXPIRY_MARGIN_MS),
      };
      this.issued++;
      return response.access_token;
    } catch (e) {
      // Discovery is retried next time too: the provider may have been down.
      const refused = e instanceof oidc.ResponseBodyError;
      if (!refused) this.configuration = undefined;
      // The OAuth error code only (e.g. invalid_client): never the secret or the response body.
      throw new TokenError(`no access token from the token endpoint (${refused ? e.error : errorName(e)})`);
    }
  }
}
