import { Ajv, type ErrorObject, type JSONSchemaType } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { errorPointer } from '../util/jsonPointer.js';
import { LOOPBACK_HTTP } from './config.js';
import { ConfigFileError, type FileProblem } from './configFileError.js';

/**
 * Outbound destinations (PUBLISH_DESTINATIONS_FILE): personal health records the service
 * publishes consenting people's PHB to, and GP systems it tells about discharge documents.
 * Checked once at start; a bad file stops start-up naming the file and the field's JSON pointer.
 */

export const DESTINATION_KINDS = ['phr', 'gp'] as const;
export type DestinationKind = (typeof DESTINATION_KINDS)[number];

/** What the publisher can send; a destination lists the kinds it accepts. */
export const PUBLISHED_KINDS = [
  'CarePlan',
  'Goal',
  'DocumentReference',
  'Coverage',
  'QuestionnaireResponse',
  'Observation',
  'Bundle',
] as const;
export type PublishedKind = (typeof PUBLISHED_KINDS)[number];

export interface DestinationAuthSpec {
  /** OpenID Connect issuer (discovered), or give `tokenEndpoint` for a plain OAuth 2.0 server. */
  issuer?: string;
  tokenEndpoint?: string;
  clientId: string;
  /** Name of the environment variable holding the client secret: secrets stay out of the file. */
  clientSecretEnv: string;
  /** How the secret is sent; Patient Knows Best takes it in the form body. */
  method?: 'client_secret_post' | 'client_secret_basic';
  scope?: string;
  /** RFC 8707 resource indicator, for servers that issue tokens per API. */
  resource?: string;
}

export interface DestinationSpec {
  /** Our name for it; for a PHR, the Consent recipient the person named (fhir/consent.ts). */
  id: string;
  kind: DestinationKind;
  fhirBaseUrl: string;
  auth: DestinationAuthSpec;
  /** Extra headers on every call, e.g. Patient Knows Best's `x-team-id`. */
  headers?: Record<string, string>;
  accepts: PublishedKind[];
  /** Kinds the destination lets us delete (on consent withdrawal or a delete here); others stay there. */
  removes?: PublishedKind[];
  gp?: {
    /** The practice: patients whose registered GP has this ODS code. */
    odsCode: string;
    /** `notification`: a DocumentReference pointing at the document on our /fhir; `document`: the Bundle itself. */
    deliver: 'notification' | 'document';
    /** Our public FHIR base, for the notification's link (the GP system reads the Bundle there). */
    documentBaseUrl?: string;
  };
  retry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  timeoutMs?: number;
  /** Where a new cursor starts; default: the beginning of the store's history. */
  startFrom?: string;
  /** History page size. */
  pageSize?: number;
}

export interface DestinationsFile {
  destinations: DestinationSpec[];
}

/** A destination ready to use: defaults filled in and the secret resolved. */
export interface Destination extends Omit<
  DestinationSpec,
  'auth' | 'retry' | 'timeoutMs' | 'pageSize' | 'removes' | 'headers'
> {
  auth: DestinationAuthSpec & { clientSecret: string; method: 'client_secret_post' | 'client_secret_basic' };
  headers: Record<string, string>;
  removes: PublishedKind[];
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  timeoutMs: number;
  pageSize: number;
}

const url = { type: 'string', format: 'uri', pattern: '^https?://' } as const;
const kinds = { type: 'array', uniqueItems: true, items: { type: 'string', enum: [...PUBLISHED_KINDS] } } as const;

const schema: JSONSchemaType<DestinationsFile> = {
  type: 'object',
  additionalProperties: false,
  required: ['destinations'],
  properties: {
    destinations: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'kind', 'fhirBaseUrl', 'auth', 'accepts'],
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,39}$' },
          kind: { type: 'string', enum: [...DESTINATION_KINDS] },
          fhirBaseUrl: url,
          auth: {
            type: 'object',
            additionalProperties: false,
            required: ['clientId', 'clientSecretEnv'],
            anyOf: [{ required: ['issuer'] }, { required: ['tokenEndpoint'] }],
            properties: {
              issuer: { ...url, nullable: true },
              tokenEndpoint: { ...url, nullable: true },
              clientId: { type: 'string', minLength: 1 },
              clientSecretEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
              method: { type: 'string', enum: ['client_secret_post', 'client_secret_basic'], nullable: true },
              scope: { type: 'string', nullable: true },
              resource: { ...url, nullable: true },
            },
          },
          headers: {
            type: 'object',
            nullable: true,
            required: [],
            propertyNames: { pattern: '^[A-Za-z0-9-]+$' },
            additionalProperties: { type: 'string' },
          },
          accepts: { ...kinds, minItems: 1 },
          removes: { ...kinds, nullable: true },
          gp: {
            type: 'object',
            nullable: true,
            additionalProperties: false,
            required: ['odsCode', 'deliver'],
            properties: {
              odsCode: { type: 'string', pattern: '^[A-Z0-9]{3,10}$' },
              deliver: { type: 'string', enum: ['notification', 'document'] },
              documentBaseUrl: { ...url, nullable: true },
            },
          },
          retry: {
            type: 'object',
            nullable: true,
            additionalProperties: false,
            properties: {
              maxAttempts: { type: 'integer', minimum: 1, maximum: 100, nullable: true },
              baseDelayMs: { type: 'integer', minimum: 10, maximum: 3600000, nullable: true },
              maxDelayMs: { type: 'integer', minimum: 10, maximum: 86400000, nullable: true },
            },
          },
          timeoutMs: { type: 'integer', minimum: 100, maximum: 120000, nullable: true },
          startFrom: { type: 'string', format: 'date-time', nullable: true },
          pageSize: { type: 'integer', minimum: 1, maximum: 1000, nullable: true },
        },
      },
    },
  },
};

const DESTINATIONS = 'Publish destinations';

// No coercion: a string where a number belongs is a mistake to report.
const ajv = new Ajv({ allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);

function schemaProblem(e: ErrorObject): FileProblem {
  const message =
    e.keyword === 'enum'
      ? `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`
      : (e.message ?? 'is invalid');
  return { pointer: errorPointer(e), message };
}

const RESERVED_HEADERS = new Set(['authorization', 'content-type', 'accept', 'host', 'content-length', 'prefer']);

export interface DestinationOptions {
  /** Looks up a secret by the environment variable name the file gives (config.secretFromEnvironment). */
  secret: (name: string) => string | undefined;
  /** Plain http is allowed on loopback outside production only. */
  production: boolean;
}

/** Checks that ajv cannot express: secrets present, transport, rules between fields. */
function ruleProblems(file: DestinationsFile, options: DestinationOptions): FileProblem[] {
  const problems: FileProblem[] = [];
  const ids = new Set<string>();
  file.destinations.forEach((d, i) => {
    const at = `/destinations/${i}`;
    if (ids.has(d.id)) problems.push({ pointer: `${at}/id`, message: `duplicates destination ${d.id}` });
    ids.add(d.id);
    const urls: [string, string | undefined][] = [
      ['fhirBaseUrl', d.fhirBaseUrl],
      ['auth/issuer', d.auth.issuer],
      ['auth/tokenEndpoint', d.auth.tokenEndpoint],
      ['gp/documentBaseUrl', d.gp?.documentBaseUrl],
    ];
    for (const [field, value] of urls) {
      if (value === undefined || value.startsWith('https://')) continue;
      if (options.production || !LOOPBACK_HTTP.test(value))
        problems.push({
          pointer: `${at}/${field}`,
          message: 'must use https (plain http only on loopback outside production)',
        });
    }
    if (options.secret(d.auth.clientSecretEnv) === undefined) {
      problems.push({
        pointer: `${at}/auth/clientSecretEnv`,
        message: `the environment variable ${d.auth.clientSecretEnv} is not set`,
      });
    }
    for (const name of Object.keys(d.headers ?? {})) {
      // We set these ourselves: the token, and what the body is.
      if (RESERVED_HEADERS.has(name.toLowerCase()))
        problems.push({ pointer: `${at}/headers/${name}`, message: 'is set by the publisher itself' });
    }
    for (const [j, kind] of (d.removes ?? []).entries()) {
      if (!d.accepts.includes(kind))
        problems.push({ pointer: `${at}/removes/${j}`, message: `${kind} is not in accepts` });
    }
    if (d.kind === 'gp') {
      if (!d.gp) problems.push({ pointer: `${at}/gp`, message: 'a gp destination needs gp.odsCode and gp.deliver' });
      else if (d.gp.deliver === 'notification' && !d.gp.documentBaseUrl) {
        problems.push({
          pointer: `${at}/gp/documentBaseUrl`,
          message: 'a notification links to the document: give our public FHIR base',
        });
      }
      const needs: PublishedKind = d.gp?.deliver === 'document' ? 'Bundle' : 'DocumentReference';
      if (!d.accepts.includes(needs))
        problems.push({
          pointer: `${at}/accepts`,
          message: `a gp destination delivering ${d.gp?.deliver ?? 'notifications'} must accept ${needs}`,
        });
    } else {
      if (d.gp) problems.push({ pointer: `${at}/gp`, message: 'only a gp destination has gp settings' });
      // The readable rendering of the plan always goes: a PHR that takes nothing else still shows it.
      if (!d.accepts.includes('DocumentReference'))
        problems.push({
          pointer: `${at}/accepts`,
          message: 'a phr destination must accept DocumentReference (the readable plan)',
        });
    }
    const retry = d.retry ?? {};
    if (retry.baseDelayMs !== undefined && retry.maxDelayMs !== undefined && retry.maxDelayMs < retry.baseDelayMs) {
      problems.push({ pointer: `${at}/retry/maxDelayMs`, message: 'must not be less than baseDelayMs' });
    }
  });
  return problems;
}

/** Validates a parsed destinations document and resolves secrets; `file` only names it in errors. */
export function parseDestinations(document: unknown, file: string, options: DestinationOptions): Destination[] {
  if (!validate(document)) throw new ConfigFileError(DESTINATIONS, file, (validate.errors ?? []).map(schemaProblem));
  const problems = ruleProblems(document, options);
  if (problems.length) throw new ConfigFileError(DESTINATIONS, file, problems);
  return document.destinations.map((d) => ({
    ...d,
    fhirBaseUrl: d.fhirBaseUrl.replace(/\/+$/, ''),
    auth: {
      ...d.auth,
      clientSecret: options.secret(d.auth.clientSecretEnv) as string,
      method: d.auth.method ?? 'client_secret_post',
    },
    headers: d.headers ?? {},
    removes: d.removes ?? [],
    retry: {
      maxAttempts: d.retry?.maxAttempts ?? 10,
      baseDelayMs: d.retry?.baseDelayMs ?? 1000,
      maxDelayMs: d.retry?.maxDelayMs ?? 300000,
    },
    timeoutMs: d.timeoutMs ?? 10000,
    pageSize: d.pageSize ?? 100,
  }));
}

/** Reads PUBLISH_DESTINATIONS_FILE at start; throws ConfigFileError naming the file and field. */
export function loadDestinations(file: string, options: DestinationOptions): Destination[] {
  const resolved = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(resolved, 'utf8');
  } catch (e) {
    throw new ConfigFileError(DESTINATIONS, resolved, [
      { pointer: '', message: `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})` },
    ]);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (e) {
    throw new ConfigFileError(DESTINATIONS, resolved, [
      { pointer: '', message: `is not JSON (${(e as Error).message})` },
    ]);
  }
  return parseDestinations(document, resolved, options);
}
