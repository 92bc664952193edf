import type { Identifier, Parameters, ParametersParameter, Reference } from 'fhir/r4.js';
import { AppError, badRequest } from '../outcome/errors.js';

/**
 * The one reader of an operation's input Parameters: each parameter is checked against its
 * declared type and cardinality (as in the OperationDefinition); unknown parameters are refused.
 * Errors point at the parameter (FHIRPath) so a client knows which one to fix.
 */
export interface ParameterSpec {
  name: string;
  type: 'Reference' | 'Identifier' | 'boolean' | 'string';
  min: number;
  max: number;
}

export type ParameterValue = Reference | Identifier | boolean | string;

export interface ReadParameter<T extends ParameterValue = ParameterValue> {
  value: T;
  /** Where it is in the input, e.g. `Parameters.parameter[3]`. */
  at: string;
}

const VALUE_KEY = {
  Reference: 'valueReference',
  Identifier: 'valueIdentifier',
  boolean: 'valueBoolean',
  string: 'valueString',
} as const;

export function readParameters(body: unknown, specs: readonly ParameterSpec[]): Map<string, ReadParameter[]> {
  if (typeof body !== 'object' || body === null || (body as { resourceType?: unknown }).resourceType !== 'Parameters') {
    throw badRequest('The body must be a Parameters resource', 'Parameters');
  }
  const given = (body as Parameters).parameter ?? [];
  if (!Array.isArray(given)) throw badRequest('Parameters.parameter must be a list', 'Parameters.parameter');
  const found = new Map<string, ReadParameter[]>(specs.map((s) => [s.name, []]));
  given.forEach((p: ParametersParameter, i) => {
    const at = `Parameters.parameter[${i}]`;
    const spec = specs.find((s) => s.name === p?.name);
    if (!spec)
      throw badRequest(
        `Unknown parameter ${JSON.stringify(p?.name)} (expected ${specs.map((s) => s.name).join(', ')})`,
        at,
      );
    const key = VALUE_KEY[spec.type];
    const value = p[key];
    const others = Object.keys(p).filter((k) => k.startsWith('value') && k !== key);
    if (
      value === undefined ||
      others.length > 0 ||
      typeof value !== (spec.type === 'boolean' ? 'boolean' : spec.type === 'string' ? 'string' : 'object')
    ) {
      throw badRequest(`Parameter ${spec.name} must have ${key}`, at);
    }
    found.get(spec.name)?.push({ value, at });
  });
  for (const spec of specs) {
    const count = found.get(spec.name)?.length ?? 0;
    if (count < spec.min)
      throw new AppError(400, {
        code: 'required',
        diagnostics: `Parameter ${spec.name} is required (at least ${spec.min})`,
        location: 'Parameters',
      });
    if (count > spec.max)
      throw new AppError(400, {
        code: 'too-long',
        diagnostics: `Parameter ${spec.name} is given ${count} times; at most ${spec.max} are allowed`,
        location: 'Parameters',
      });
  }
  return found;
}

/**
 * The query of an operation invoked with GET, whose in-parameters come as query parameters:
 * a name its OperationDefinition does not declare is refused, never ignored. `_format` is
 * a request's format, checked for every /fhir request.
 */
export function checkQueryParameters(
  operation: string,
  query: Record<string, unknown>,
  specs: readonly ParameterSpec[],
): void {
  for (const [name, value] of Object.entries(query)) {
    if (name === '_format') continue;
    const spec = specs.find((s) => s.name === name);
    if (!spec)
      throw new AppError(400, {
        code: 'not-supported',
        diagnostics: `$${operation} has no parameter ${name} (it takes ${specs.map((s) => s.name).join(', ') || 'none'})`,
        location: name,
      });
    const count = Array.isArray(value) ? value.length : 1;
    if (count > spec.max)
      throw badRequest(`Parameter ${name} is given ${count} times; at most ${spec.max} are allowed`, name);
  }
}
