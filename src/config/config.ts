import { Ajv, type JSONSchemaType } from 'ajv';
import addFormats from 'ajv-formats';
import { isIP } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, so defaults work from any working directory (src/ and dist/src/ alike). */
const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = here.includes(`${path.sep}dist${path.sep}`)
  ? path.resolve(here, '..', '..', '..')
  : path.resolve(here, '..', '..');

export interface Config {
  nodeEnv: 'development' | 'test' | 'production';
  host: string;
  port: number;
  fhirBaseUrl: string;
  /** FHIR server that keeps the AuditEvents; empty = the clinical store (FHIR_BASE_URL). */
  auditFhirBaseUrl: string;
  /** Directory of the local spool each AuditEvent is made durable in before its answer leaves. */
  auditSpoolDir: string;
  fhirTimeoutMs: number;
  retryAfterSeconds: number;
  profilesDir: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** OpenID Connect issuers whose access tokens the facade trusts (exact `iss` values). */
  oidcIssuers: string[];
  /** The `aud` every access token must carry: this facade's identifier. */
  oidcAudience: string;
  /** Asymmetric JWS algorithms accepted; `none` and HMAC are never accepted. */
  oidcAlgorithms: string[];
  /** Least time between two JWKS fetches, so forged unknown key ids cannot flood the issuer. */
  oidcJwksCooldownMs: number;
  /** Clock skew allowed on `exp`/`nbf`. */
  oidcClockToleranceSeconds: number;
  /** Client ids that are personal health record apps: they need the person's active Consent. */
  phrAppClients: string[];
  /** Port of the development-only identity provider started by `npm start`. */
  devIdentityPort: number;
  /** Sign-off policy: a document name in policies/ (e.g. `merseyside`) or a path to one. */
  signOffPolicy: string;
  /** JSON file of outbound destinations (PHRs, GP systems); empty = the publisher does not run. */
  publishDestinationsFile: string;
  /** How often the publisher looks for changes to deliver. */
  publishIntervalMs: number;
  /** How long a request executing under an Idempotency-Key keeps others out before one may take over. */
  idempotencyLeaseMs: number;
  /** Strict-Transport-Security max-age; 0 = no header (the facade is also reached over plain http). */
  hstsMaxAgeSeconds: number;
  /** Proxies (addresses, CIDR ranges, or loopback/linklocal/uniquelocal) whose X-Forwarded-* headers are believed. */
  trustProxy: string[];
  /** The window the rate limits below are counted over. */
  rateLimitWindowMs: number;
  /** Requests per window from one client address, before authentication; 0 = no limit. */
  rateLimitPerAddress: number;
  /** Requests per window from one authenticated caller; 0 = no limit. */
  rateLimitPerCaller: number;
  /** Browser origins (scheme://host[:port]) whose apps may call /fhir and SMART discovery (CORS). */
  corsAllowedOrigins: string[];
}

/** Environment variable name for each config field: the error names the variable a person sets. */
export const ENV_NAMES: Record<keyof Config, string> = {
  nodeEnv: 'NODE_ENV',
  host: 'HOST',
  port: 'PORT',
  fhirBaseUrl: 'FHIR_BASE_URL',
  auditFhirBaseUrl: 'AUDIT_FHIR_BASE_URL',
  auditSpoolDir: 'AUDIT_SPOOL_DIR',
  fhirTimeoutMs: 'FHIR_TIMEOUT_MS',
  retryAfterSeconds: 'RETRY_AFTER_SECONDS',
  profilesDir: 'PROFILES_DIR',
  logLevel: 'LOG_LEVEL',
  oidcIssuers: 'OIDC_ISSUERS',
  oidcAudience: 'OIDC_AUDIENCE',
  oidcAlgorithms: 'OIDC_ALGORITHMS',
  oidcJwksCooldownMs: 'OIDC_JWKS_COOLDOWN_MS',
  oidcClockToleranceSeconds: 'OIDC_CLOCK_TOLERANCE_SECONDS',
  phrAppClients: 'PHR_APP_CLIENTS',
  devIdentityPort: 'DEV_IDENTITY_PORT',
  signOffPolicy: 'SIGN_OFF_POLICY',
  publishDestinationsFile: 'PUBLISH_DESTINATIONS_FILE',
  publishIntervalMs: 'PUBLISH_INTERVAL_MS',
  idempotencyLeaseMs: 'IDEMPOTENCY_LEASE_MS',
  hstsMaxAgeSeconds: 'HSTS_MAX_AGE_SECONDS',
  trustProxy: 'TRUST_PROXY',
  rateLimitWindowMs: 'RATE_LIMIT_WINDOW_MS',
  rateLimitPerAddress: 'RATE_LIMIT_PER_ADDRESS',
  rateLimitPerCaller: 'RATE_LIMIT_PER_CALLER',
  corsAllowedOrigins: 'CORS_ALLOWED_ORIGINS',
};

/** Variables holding comma-separated lists. */
const LIST_FIELDS: ReadonlySet<keyof Config> = new Set([
  'oidcIssuers',
  'oidcAlgorithms',
  'phrAppClients',
  'trustProxy',
  'corsAllowedOrigins',
]);

const schema: JSONSchemaType<Config> = {
  type: 'object',
  additionalProperties: false,
  required: Object.keys(ENV_NAMES) as (keyof Config)[],
  properties: {
    nodeEnv: { type: 'string', enum: ['development', 'test', 'production'] },
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    fhirBaseUrl: { type: 'string', format: 'uri', pattern: '^https?://' },
    auditFhirBaseUrl: { type: 'string', pattern: '^(https?://[^\\s]+)?$' },
    auditSpoolDir: { type: 'string', minLength: 1 },
    fhirTimeoutMs: { type: 'integer', minimum: 100, maximum: 120000 },
    retryAfterSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
    profilesDir: { type: 'string', minLength: 1 },
    logLevel: { type: 'string', enum: ['error', 'warn', 'info', 'debug'] },
    oidcIssuers: { type: 'array', items: { type: 'string', format: 'uri', pattern: '^https?://' }, uniqueItems: true },
    oidcAudience: { type: 'string', minLength: 1 },
    // Asymmetric only: HMAC with a published key and `none` are the classic JWT forgeries.
    oidcAlgorithms: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'string',
        enum: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
      },
    },
    oidcJwksCooldownMs: { type: 'integer', minimum: 0, maximum: 3600000 },
    oidcClockToleranceSeconds: { type: 'integer', minimum: 0, maximum: 300 },
    phrAppClients: { type: 'array', items: { type: 'string', minLength: 1 } },
    devIdentityPort: { type: 'integer', minimum: 1, maximum: 65535 },
    signOffPolicy: { type: 'string', minLength: 1 },
    publishDestinationsFile: { type: 'string' },
    publishIntervalMs: { type: 'integer', minimum: 200, maximum: 3600000 },
    idempotencyLeaseMs: { type: 'integer', minimum: 1000, maximum: 3600000 },
    // Two years, the longest max-age browsers' preload lists ask for.
    hstsMaxAgeSeconds: { type: 'integer', minimum: 0, maximum: 63072000 },
    // Each entry is checked by trustProxyProblems (an address, a CIDR range or a proxy-addr name).
    trustProxy: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
    rateLimitWindowMs: { type: 'integer', minimum: 1000, maximum: 3600000 },
    rateLimitPerAddress: { type: 'integer', minimum: 0, maximum: 1000000 },
    rateLimitPerCaller: { type: 'integer', minimum: 0, maximum: 1000000 },
    // Each entry is checked by corsProblems (an exact origin, never `*`).
    corsAllowedOrigins: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
  },
};

/** The development identity provider (src/devIdentity) and what the facade trusts by default in development. */
export const DEV_IDENTITY = {
  defaultPort: 8085,
  issuer: (port: number): string => `http://127.0.0.1:${port}`,
  phrAppClient: 'demo-phr-app',
  gpSystemClient: 'demo-gp-system',
  ehrSystemClient: 'demo-ehr-system',
  /** Where the demo clients' redirect URI points: a browser SMART app there may call the facade (CORS). */
  appOrigin: 'http://127.0.0.1:3000',
} as const;

const DEFAULTS: Config = {
  nodeEnv: 'development',
  host: '127.0.0.1',
  port: 8080,
  fhirBaseUrl: 'http://127.0.0.1:8090/fhir',
  auditFhirBaseUrl: '',
  auditSpoolDir: path.join(repoRoot, 'data', 'audit-spool'),
  fhirTimeoutMs: 10000,
  retryAfterSeconds: 5,
  profilesDir: path.join(repoRoot, 'profiles'),
  logLevel: 'info',
  oidcIssuers: [],
  oidcAudience: 'http://127.0.0.1:8080/fhir',
  oidcAlgorithms: ['RS256', 'PS256', 'ES256'],
  oidcJwksCooldownMs: 30000,
  oidcClockToleranceSeconds: 30,
  phrAppClients: [],
  devIdentityPort: DEV_IDENTITY.defaultPort,
  signOffPolicy: 'city-and-hackney',
  publishDestinationsFile: '',
  publishIntervalMs: 5000,
  idempotencyLeaseMs: 30000,
  hstsMaxAgeSeconds: 0,
  trustProxy: [],
  rateLimitWindowMs: 60000,
  // Generous: many staff can share one office address behind NAT, and the benchmark sends its
  // thousands of requests from one; they stop floods, not normal use.
  rateLimitPerAddress: 6000,
  rateLimitPerCaller: 1200,
  corsAllowedOrigins: [],
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, coerceTypes: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);

/** Reads and validates config from an environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const candidate: Record<string, unknown> = { ...DEFAULTS };
  for (const [field, name] of Object.entries(ENV_NAMES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    candidate[field] = LIST_FIELDS.has(field as keyof Config)
      ? raw
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '')
      : raw;
  }
  if (validate(candidate)) {
    const config = {
      ...candidate,
      fhirBaseUrl: candidate.fhirBaseUrl.replace(/\/+$/, ''),
      auditFhirBaseUrl: candidate.auditFhirBaseUrl.replace(/\/+$/, ''),
    };
    const problems = [
      ...identityProblems(config, env),
      ...trustProxyProblems(config, env),
      ...corsProblems(config, env),
    ];
    if (problems.length) throw new ConfigError(problems);
    return withDevelopmentIdentity(config, env);
  }
  const problems = (validate.errors ?? []).map((e) => {
    const field = e.instancePath.replace(/^\//, '').split('/')[0] as keyof Config;
    const name = ENV_NAMES[field] ?? field;
    const value = env[name];
    return `${name}${value === undefined ? '' : `=${JSON.stringify(value)}`}: ${e.message ?? 'is invalid'}`;
  });
  throw new ConfigError(problems);
}

/** Plain HTTP to this machine: allowed for issuers and destinations outside production only. */
export const LOOPBACK_HTTP = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/;

/** Plain-HTTP issuers are allowed on loopback outside production only (the development provider). */
function identityProblems(config: Config, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  for (const issuer of config.oidcIssuers) {
    if (issuer.startsWith('https://')) continue;
    if (config.nodeEnv === 'production' || !LOOPBACK_HTTP.test(issuer)) {
      problems.push(
        `${ENV_NAMES.oidcIssuers}=${JSON.stringify(env[ENV_NAMES.oidcIssuers])}: ${issuer} must use https (plain http only on loopback outside production)`,
      );
    }
  }
  if (config.nodeEnv === 'production' && config.oidcIssuers.length === 0) {
    problems.push(`${ENV_NAMES.oidcIssuers}: must name at least one issuer in production`);
  }
  return problems;
}

/** Names Express's `trust proxy` understands (proxy-addr); `true` or a hop count would believe any sender. */
const PROXY_NAMES: ReadonlySet<string> = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyEntry(entry: string): boolean {
  if (PROXY_NAMES.has(entry) || isIP(entry) !== 0) return true;
  const [address, bits, ...rest] = entry.split('/');
  if (address === undefined || bits === undefined || rest.length || !/^\d{1,3}$/.test(bits)) return false;
  const family = isIP(address);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

function trustProxyProblems(config: Config, env: NodeJS.ProcessEnv): string[] {
  return config.trustProxy
    .filter((entry) => !isProxyEntry(entry))
    .map(
      (entry) =>
        `${ENV_NAMES.trustProxy}=${JSON.stringify(env[ENV_NAMES.trustProxy])}: ${entry} is not an address, a CIDR range or one of loopback, linklocal, uniquelocal`,
    );
}

/**
 * Each CORS origin must be exactly an origin as browsers send it (scheme://host[:port], no path
 * or trailing slash), https or plain http on loopback outside production; `*` and `null` would
 * let any page (or a sandboxed one) read answers meant for the apps named here.
 */
function corsProblems(config: Config, env: NodeJS.ProcessEnv): string[] {
  const prefix = `${ENV_NAMES.corsAllowedOrigins}=${JSON.stringify(env[ENV_NAMES.corsAllowedOrigins])}`;
  return config.corsAllowedOrigins.flatMap((entry) => {
    if (entry === '*' || entry === 'null')
      return [`${prefix}: ${entry} is not allowed: list each origin, e.g. https://app.example.org`];
    const url = URL.parse(entry);
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== entry)
      return [`${prefix}: ${entry} is not an origin (scheme://host[:port], no path or trailing slash)`];
    if (url.protocol === 'http:' && (config.nodeEnv === 'production' || !LOOPBACK_HTTP.test(entry)))
      return [`${prefix}: ${entry} must use https (plain http only on loopback outside production)`];
    return [];
  });
}

/** In development only, with no issuer named, the facade trusts the local development identity provider. */
function withDevelopmentIdentity(config: Config, env: NodeJS.ProcessEnv): Config {
  if (config.nodeEnv !== 'development') return config;
  return {
    ...config,
    oidcIssuers: config.oidcIssuers.length ? config.oidcIssuers : [DEV_IDENTITY.issuer(config.devIdentityPort)],
    phrAppClients: env[ENV_NAMES.phrAppClients] === undefined ? [DEV_IDENTITY.phrAppClient] : config.phrAppClients,
    corsAllowedOrigins:
      env[ENV_NAMES.corsAllowedOrigins] === undefined ? [DEV_IDENTITY.appOrigin] : config.corsAllowedOrigins,
  };
}

/**
 * A secret a data file names by environment variable (e.g. a destination's client secret), so
 * secrets stay out of files; read here because this module is the only reader of the environment.
 */
export function secretFromEnvironment(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}
