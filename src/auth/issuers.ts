import * as oidc from 'openid-client';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { log } from '../log/logger.js';
import { unavailable } from '../outcome/errors.js';
import { LOOPBACK_HTTP } from '../config/config.js';

export interface IssuerSettings {
  issuers: readonly string[];
  /** Used as the client id for discovery: the facade is a resource server and never asks for tokens. */
  audience: string;
  jwksCooldownMs: number;
  timeoutMs: number;
  retryAfterSeconds: number;
}

/** What the facade needs of an issuer: its endpoints (for SMART discovery) and its signing keys. */
export interface TrustedIssuer {
  issuer: string;
  metadata: oidc.ServerMetadata;
  keys: JWTVerifyGetKey;
}

/**
 * The configured OpenID Connect issuers, discovered lazily with openid-client and cached. A failed
 * discovery is not cached, so an identity provider that starts after the facade is picked up.
 * Each issuer's JWKS is jose's remote key set: a token with an unknown `kid` makes it refetch the
 * keys (at most once per cooldown), which is how rotation at the provider is followed.
 */
export class IssuerRegistry {
  private readonly discovered = new Map<string, Promise<TrustedIssuer>>();

  constructor(private readonly settings: IssuerSettings) {}

  get issuers(): readonly string[] {
    return this.settings.issuers;
  }

  isTrusted(issuer: string): boolean {
    return this.settings.issuers.includes(issuer);
  }

  /** The trusted issuer, discovered once; 503 while its discovery document cannot be fetched. */
  async get(issuer: string): Promise<TrustedIssuer> {
    let pending = this.discovered.get(issuer);
    if (!pending) {
      pending = this.discover(issuer);
      this.discovered.set(issuer, pending);
      pending.catch(() => this.discovered.delete(issuer));
    }
    return pending;
  }

  /** The first configured issuer: the one SMART apps are sent to. */
  async primary(): Promise<TrustedIssuer> {
    const [first] = this.settings.issuers;
    if (first === undefined)
      throw unavailable('No OpenID Connect issuer is configured', this.settings.retryAfterSeconds);
    return this.get(first);
  }

  private async discover(issuer: string): Promise<TrustedIssuer> {
    // Plain http passes config validation only on loopback outside production (the development provider).
    const execute = LOOPBACK_HTTP.test(issuer) ? [oidc.allowInsecureRequests] : [];
    let metadata: oidc.ServerMetadata;
    try {
      const configuration = await oidc.discovery(new URL(issuer), this.settings.audience, undefined, undefined, {
        execute,
        timeout: Math.ceil(this.settings.timeoutMs / 1000),
      });
      metadata = configuration.serverMetadata();
    } catch (e) {
      log().warn('identity provider discovery failed', { issuer, error: e instanceof Error ? e.name : typeof e });
      throw unavailable(
        'The identity provider cannot be reached to check the access token',
        this.settings.retryAfterSeconds,
      );
    }
    if (!metadata.jwks_uri)
      throw unavailable('The identity provider publishes no signing keys (jwks_uri)', this.settings.retryAfterSeconds);
    const keys = createRemoteJWKSet(new URL(metadata.jwks_uri), {
      cooldownDuration: this.settings.jwksCooldownMs,
      timeoutDuration: this.settings.timeoutMs,
    });
    log().info('identity provider discovered', { issuer });
    return { issuer, metadata, keys };
  }
}
