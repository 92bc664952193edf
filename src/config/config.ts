import { Ajv, type JSONSchemaType } from 'ajv';
import addFormats from 'ajv-formats';
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
  fhirTimeoutMs: number;
  retryAfterSeconds: number;
  profilesDir: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
}

/** Environment variable name for each config field: the error names the variable a person sets. */
export const ENV_NAMES: Record<keyof Config, string> = {
  nodeEnv: 'NODE_ENV',
  host: 'HOST',
  port: 'PORT',
  fhirBaseUrl: 'FHIR_BASE_URL',
  fhirTimeoutMs: 'FHIR_TIMEOUT_MS',
  retryAfterSeconds: 'RETRY_AFTER_SECONDS',
  profilesDir: 'PROFILES_DIR',
  logLevel: 'LOG_LEVEL',
};

const schema: JSONSchemaType<Config> = {
  type: 'object',
  additionalProperties: false,
  required: Object.keys(ENV_NAMES) as (keyof Config)[],
  properties: {
    nodeEnv: { type: 'string', enum: ['development', 'test', 'production'] },
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    fhirBaseUrl: { type: 'string', format: 'uri', pattern: '^https?://' },
    fhirTimeoutMs: { type: 'integer', minimum: 100, maximum: 120000 },
    retryAfterSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
    profilesDir: { type: 'string', minLength: 1 },
    logLevel: { type: 'string', enum: ['error', 'warn', 'info', 'debug'] },
  },
};

const DEFAULTS: Config = {
  nodeEnv: 'development',
  host: '127.0.0.1',
  port: 8080,
  fhirBaseUrl: 'http://127.0.0.1:8090/fhir',
  fhirTimeoutMs: 10000,
  retryAfterSeconds: 5,
  profilesDir: path.join(repoRoot, 'profiles'),
  logLevel: 'info',
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
    if (raw !== undefined && raw !== '') candidate[field] = raw;
  }
  if (validate(candidate)) {
    return { ...candidate, fhirBaseUrl: candidate.fhirBaseUrl.replace(/\/+$/, '') };
  }
  const problems = (validate.errors ?? []).map((e) => {
    const field = e.instancePath.replace(/^\//, '') as keyof Config;
    const name = ENV_NAMES[field] ?? field;
    const value = env[name];
    return `${name}${value === undefined ? '' : `=${JSON.stringify(value)}`}: ${e.message ?? 'is invalid'}`;
  });
  throw new ConfigError(problems);
}
