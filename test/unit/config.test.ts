import path from 'node:path';
import { ConfigError, loadConfig, repoRoot } from '../../src/config/config.js';

describe('configuration from the environment', () => {
  it('has defaults that run on loopback against the local HAPI', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      fhirBaseUrl: 'http://127.0.0.1:8090/fhir',
      nodeEnv: 'development',
    });
  });

  it('reads and coerces values, trimming a trailing slash from the FHIR base', () => {
    const config = loadConfig({
      PORT: '9000',
      FHIR_BASE_URL: 'http://hapi:8080/fhir/',
      FHIR_TIMEOUT_MS: '2500',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      port: 9000,
      fhirBaseUrl: 'http://hapi:8080/fhir',
      fhirTimeoutMs: 2500,
      logLevel: 'debug',
    });
  });

  it('names every bad variable and its value', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', FHIR_BASE_URL: 'ftp://x', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/PORT="eighty": must be integer/);
    expect(message).toMatch(/FHIR_BASE_URL="ftp:\/\/x"/);
    expect(message).toMatch(/LOG_LEVEL="loud": must be equal to one of the allowed values/);
  });

  it('gives an in-progress Idempotency-Key a 30 s lease by default, and refuses one under a second', () => {
    expect(loadConfig({}).idempotencyLeaseMs).toBe(30000);
    expect(loadConfig({ IDEMPOTENCY_LEASE_MS: '5000' }).idempotencyLeaseMs).toBe(5000);
    expect(() => loadConfig({ IDEMPOTENCY_LEASE_MS: '10' })).toThrow(/IDEMPOTENCY_LEASE_MS="10": must be >= 1000/);
  });

  it('keeps AuditEvents in the clinical store unless an audit repository is named', () => {
    expect(loadConfig({}).auditFhirBaseUrl).toBe('');
    expect(loadConfig({ AUDIT_FHIR_BASE_URL: 'http://audit:8080/fhir/' }).auditFhirBaseUrl).toBe(
      'http://audit:8080/fhir',
    );
    expect(() => loadConfig({ AUDIT_FHIR_BASE_URL: 'audit:8080' })).toThrow(
      /AUDIT_FHIR_BASE_URL="audit:8080": must match pattern/,
    );
  });

  it('spools AuditEvents under data/ in the repository unless AUDIT_SPOOL_DIR names a directory', () => {
    expect(loadConfig({}).auditSpoolDir).toBe(path.join(repoRoot, 'data', 'audit-spool'));
    expect(loadConfig({ AUDIT_SPOOL_DIR: '/var/lib/phb/audit-spool' }).auditSpoolDir).toBe('/var/lib/phb/audit-spool');
  });
});

describe('identity configuration', () => {
  it('trusts the development identity provider by default in development only', () => {
    expect(loadConfig({})).toMatchObject({
      oidcIssuers: ['http://127.0.0.1:8085'],
      phrAppClients: ['demo-phr-app'],
      oidcAlgorithms: ['RS256', 'PS256', 'ES256'],
    });
    expect(loadConfig({ NODE_ENV: 'test' }).oidcIssuers).toEqual([]);
  });

  it('reads issuer lists and refuses HMAC, none and plain-http issuers off loopback', () => {
    expect(
      loadConfig({
        OIDC_ISSUERS: 'https://a.example, https://b.example/realm',
        OIDC_AUDIENCE: 'https://phb.example/fhir',
      }),
    ).toMatchObject({ oidcIssuers: ['https://a.example', 'https://b.example/realm'] });
    expect(() => loadConfig({ OIDC_ALGORITHMS: 'RS256,HS256' })).toThrow(
      /OIDC_ALGORITHMS="RS256,HS256": must be equal to one of the allowed values/,
    );
    expect(() => loadConfig({ OIDC_ALGORITHMS: 'none' })).toThrow(/OIDC_ALGORITHMS/);
    expect(() => loadConfig({ OIDC_ISSUERS: 'http://idp.example' })).toThrow(/must use https/);
    expect(() => loadConfig({ NODE_ENV: 'production', OIDC_ISSUERS: 'http://127.0.0.1:8085' })).toThrow(
      /must use https/,
    );
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /OIDC_ISSUERS: must name at least one issuer in production/,
    );
  });
});

describe('edge configuration: security headers, proxies and rate limits', () => {
  it('sends no HSTS, trusts no proxy and limits generously by default', () => {
    expect(loadConfig({})).toMatchObject({
      hstsMaxAgeSeconds: 0,
      trustProxy: [],
      rateLimitWindowMs: 60000,
      rateLimitPerAddress: 6000,
      rateLimitPerCaller: 1200,
    });
  });

  it('reads the limits, with 0 turning one off', () => {
    expect(
      loadConfig({
        RATE_LIMIT_WINDOW_MS: '10000',
        RATE_LIMIT_PER_ADDRESS: '0',
        RATE_LIMIT_PER_CALLER: '50',
        HSTS_MAX_AGE_SECONDS: '31536000',
      }),
    ).toMatchObject({
      rateLimitWindowMs: 10000,
      rateLimitPerAddress: 0,
      rateLimitPerCaller: 50,
      hstsMaxAgeSeconds: 31536000,
    });
  });

  it('names each bad limit and its value', () => {
    let error: unknown;
    try {
      loadConfig({
        RATE_LIMIT_WINDOW_MS: '50',
        RATE_LIMIT_PER_ADDRESS: '-1',
        RATE_LIMIT_PER_CALLER: 'lots',
        HSTS_MAX_AGE_SECONDS: '1.5',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/RATE_LIMIT_WINDOW_MS="50": must be >= 1000/);
    expect(message).toMatch(/RATE_LIMIT_PER_ADDRESS="-1": must be >= 0/);
    expect(message).toMatch(/RATE_LIMIT_PER_CALLER="lots": must be integer/);
    expect(message).toMatch(/HSTS_MAX_AGE_SECONDS="1.5": must be integer/);
  });

  it('trusts proxies named by address, CIDR range or proxy-addr name, and refuses anything else', () => {
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8, fd00::/8, 192.0.2.7' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
      'fd00::/8',
      '192.0.2.7',
    ]);
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY="true": true is not an address/);
    expect(() => loadConfig({ TRUST_PROXY: '1' })).toThrow(/TRUST_PROXY="1": 1 is not an address/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/10.0.0.0\/33 is not an address/);
    expect(() => loadConfig({ TRUST_PROXY: 'proxy.example' })).toThrow(/proxy.example is not an address/);
  });

  it('allows the demo app origin in development and no origin elsewhere unless CORS_ALLOWED_ORIGINS names some', () => {
    expect(loadConfig({}).corsAllowedOrigins).toEqual(['http://127.0.0.1:3000']);
    expect(loadConfig({ NODE_ENV: 'test' }).corsAllowedOrigins).toEqual([]);
    expect(loadConfig({ NODE_ENV: 'production', OIDC_ISSUERS: 'https://idp.example' }).corsAllowedOrigins).toEqual([]);
    expect(
      loadConfig({ CORS_ALLOWED_ORIGINS: 'https://app.example.org, http://localhost:5173' }).corsAllowedOrigins,
    ).toEqual(['https://app.example.org', 'http://localhost:5173']);
  });

  it('refuses a CORS origin that is a wildcard, not exactly an origin, or plain http off loopback', () => {
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: '*' })).toThrow(
      /CORS_ALLOWED_ORIGINS="\*": \* is not allowed: list each origin/,
    );
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: 'null' })).toThrow(/null is not allowed/);
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: 'https://app.example.org/' })).toThrow(
      /https:\/\/app.example.org\/ is not an origin \(scheme:\/\/host\[:port\], no path or trailing slash\)/,
    );
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: 'https://app.example.org/smart' })).toThrow(/is not an origin/);
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: 'app.example.org' })).toThrow(/is not an origin/);
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: 'ftp://app.example.org' })).toThrow(/is not an origin/);
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: 'http://app.example.org' })).toThrow(
      /http:\/\/app.example.org must use https/,
    );
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        OIDC_ISSUERS: 'https://idp.example',
        CORS_ALLOWED_ORIGINS: 'http://127.0.0.1:3000',
      }),
    ).toThrow(/must use https \(plain http only on loopback outside production\)/);
  });
});
