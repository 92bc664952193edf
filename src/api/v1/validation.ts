import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { AppError, type Issue } from '../../outcome/errors.js';
import { errorPointer } from '../../util/jsonPointer.js';
import { SCHEMAS } from './schemas.js';

/**
 * ajv over the same schemas the OpenAPI document publishes, compiled once when the module loads
 * (at start). No type coercion: "42000" is not a number of pence.
 */
const SCHEMA_ID = 'https://phb.fhir.example.org/api/v1/schemas';

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv);
// The OpenAPI document refers to #/components/schemas/X; ajv holds the same objects under $defs.
ajv.addSchema(
  JSON.parse(
    JSON.stringify({ $id: SCHEMA_ID, $defs: SCHEMAS }).replaceAll('#/components/schemas/', `${SCHEMA_ID}#/$defs/`),
  ),
);

const compiled = new Map<string, ValidateFunction>(
  Object.keys(SCHEMAS).map((name) => [name, ajv.compile({ $ref: `${SCHEMA_ID}#/$defs/${name}` })]),
);

/** One ajv error as an issue pointing at the field itself (a missing or unknown field is reported on its parent). */
function issueOf(e: ErrorObject): Issue {
  const params = e.params as Record<string, unknown>;
  const pointer = errorPointer(e);
  if (e.keyword === 'required') {
    return { code: 'required', diagnostics: `${pointer} is required`, location: pointer };
  }
  if (e.keyword === 'additionalProperties') {
    return { code: 'structure', diagnostics: `${pointer} is not a field of this request`, location: pointer };
  }
  if (e.keyword === 'enum') {
    return {
      code: 'code-invalid',
      diagnostics: `${e.instancePath || '/'} must be one of ${(params.allowedValues as unknown[]).join(', ')}`,
      location: e.instancePath,
    };
  }
  if (e.keyword === 'propertyNames') {
    return { code: 'code-invalid', diagnostics: `${pointer} is not an allowed name here`, location: pointer };
  }
  return {
    code: 'value',
    diagnostics: `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`,
    location: e.instancePath,
  };
}

/** Checks a request body; a malformed one is 400 with a JSON pointer per problem. */
export function validateBody<T>(schema: string, body: unknown): T {
  const validate = compiled.get(schema);
  if (!validate) throw new Error(`no schema ${schema}`);
  if (validate(body)) return body as T;
  // A bad property name is reported twice (the inner rule, then propertyNames naming it); keep the one naming it.
  const issues = (validate.errors ?? []).filter((e) => e.keyword === 'propertyNames' || e.propertyName === undefined);
  const unique = new Map(issues.map(issueOf).map((i) => [`${i.location ?? ''}|${i.diagnostics}`, i]));
  throw new AppError(400, [...unique.values()].slice(0, 20));
}

/** Checks a response body against its schema: a mismatch is our bug, so it is a 500, never sent. */
export function checkResponse(schema: string, body: unknown): void {
  const validate = compiled.get(schema);
  if (!validate) throw new Error(`no schema ${schema}`);
  if (!validate(body)) {
    throw new Error(
      `response does not match ${schema}: ${(validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`).join('; ')}`,
    );
  }
}
