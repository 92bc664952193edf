import { Ajv, type ErrorObject, type SchemaObject } from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PHB_KINDS, SIGN_OFF_ROLES } from '../domain/codes.js';
import { policyProblems, type PolicyProblem, type SignOffPolicy } from '../domain/signoff/policy.js';
import { errorPointer } from '../util/jsonPointer.js';
import { repoRoot } from './config.js';
import { ConfigFileError } from './configFileError.js';

/** Where the shipped policy documents live; `SIGN_OFF_POLICY` names one of them or gives a path. */
export const POLICIES_DIR = path.join(repoRoot, 'policies');

const pence = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER };
const nonEmpty = { type: 'string', minLength: 1 };

// Built from the code lists, so a role or kind the domain does not know cannot pass.
const schema: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version', 'organisation', 'tiers'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
    version: nonEmpty,
    organisation: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'name'],
      properties: { id: nonEmpty, name: nonEmpty, odsCode: { type: 'string', pattern: '^[A-Z0-9]{3,6}$' } },
    },
    description: { type: 'string' },
    appliesTo: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...PHB_KINDS] } },
    tiers: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['signers'],
        properties: {
          name: nonEmpty,
          upTo: pence,
          signers: {
            type: 'array',
            minItems: 1,
            uniqueItems: true,
            items: { type: 'string', enum: [...SIGN_OFF_ROLES] },
          },
        },
      },
    },
    itemLimits: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kind', 'upTo'],
        properties: { kind: { type: 'string', enum: [...PHB_KINDS] }, upTo: pence },
      },
    },
    appeals: {
      type: 'object',
      additionalProperties: false,
      required: ['decliningSignersStandAside'],
      properties: { decliningSignersStandAside: { type: 'boolean' } },
    },
  },
};

const POLICY = 'Sign-off policy';

// No type coercion: "25000" in a policy is a mistake to report, not a number to guess at.
const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile<SignOffPolicy>(schema);

/** A bare name (`merseyside`) is a document in policies/; anything else is a path. */
export function policyPath(nameOrPath: string): string {
  return /^[a-z0-9][a-z0-9-]*$/i.test(nameOrPath)
    ? path.join(POLICIES_DIR, `${nameOrPath}.json`)
    : path.resolve(nameOrPath);
}

/** Reads and checks a policy at start-up; throws ConfigFileError, never returns a policy it has not checked. */
export function loadPolicy(nameOrPath: string): SignOffPolicy {
  const file = policyPath(nameOrPath);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigFileError(POLICY, file, [{ pointer: '', message: `cannot be read (${code})` }]);
  }
  return parsePolicy(text, file);
}

/** Checks a policy document's text: the JSON Schema first, then the rules between fields. */
export function parsePolicy(text: string, file: string): SignOffPolicy {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (e) {
    throw new ConfigFileError(POLICY, file, [{ pointer: '', message: `is not valid JSON (${(e as Error).message})` }]);
  }
  if (!validate(document)) throw new ConfigFileError(POLICY, file, (validate.errors ?? []).map(schemaProblem));
  const problems = policyProblems(document);
  if (problems.length) throw new ConfigFileError(POLICY, file, problems);
  return document;
}

/** ajv reports a missing or unknown field on its parent; point at the field itself. */
function schemaProblem(e: ErrorObject): PolicyProblem {
  const pointer = errorPointer(e);
  if (e.keyword === 'required') return { pointer, message: 'is required' };
  if (e.keyword === 'additionalProperties') return { pointer, message: 'is not a field of a sign-off policy' };
  if (e.keyword === 'enum')
    return { pointer, message: `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}` };
  return { pointer, message: e.message ?? 'is invalid' };
}
