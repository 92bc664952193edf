import type {
  CodeSystem,
  Identifier,
  OperationDefinition,
  Parameters,
  ParametersParameter,
  Reference,
  ValueSet,
} from 'fhir/r4.js';
import { AppError, badRequest } from '../outcome/errors.js';

/**
 * The one reader of an operation's input Parameters: each parameter is checked against its
 * declared types, cardinality and (for codes) bound value set, as in the OperationDefinition;
 * unknown parameters are refused. Errors point at the parameter (FHIRPath) so a client knows
 * which one to fix.
 */
export const PARAMETER_TYPES = ['Reference', 'Identifier', 'boolean', 'string', 'code'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export interface ParameterSpec {
  name: string;
  /** The declared type first, then any others accepted (R5's allowedType, carried in R4 as an extension). */
  types: readonly ParameterType[];
  min: number;
  max: number;
  /** For code and string values: the codes of the bound value set, when the binding is required. */
  codes?: readonly string[];
}

export type ParameterValue = Reference | Identifier | boolean | string;

export interface ReadParameter<T extends ParameterValue = ParameterValue> {
  value: T;
  /** Which of the spec's types it was given as. */
  type: ParameterType;
  /** Where it is in the input, e.g. `Parameters.parameter[3]`. */
  at: string;
}

const VALUE_KEY = {
  Reference: 'valueReference',
  Identifier: 'valueIdentifier',
  boolean: 'valueBoolean',
  string: 'valueString',
  code: 'valueCode',
} as const satisfies Record<ParameterType, keyof ParametersParameter>;

const JS_TYPE: Record<ParameterType, string> = {
  Reference: 'object',
  Identifier: 'object',
  boolean: 'boolean',
  string: 'string',
  code: 'string',
};

/** FHIR's cross-version extension for R5's OperationDefinition.parameter.allowedType. */
export const ALLOWED_TYPE_EXTENSION =
  'http://hl7.org/fhir/5.0/StructureDefinition/extension-OperationDefinition.parameter.allowedType';

const isParameterType = (t: string | undefined): t is ParameterType =>
  (PARAMETER_TYPES as readonly string[]).includes(t ?? '');

/**
 * The input parameters an OperationDefinition declares, with the codes of each required binding
 * from the definitions given (a value set's listed concepts, or its whole code system). A
 * definition this reader cannot honour is a fault of ours and fails at start, naming the parameter.
 */
export function specsFromDefinition(
  definition: OperationDefinition,
  terminology: readonly (ValueSet | CodeSystem)[],
): ParameterSpec[] {
  const codesOf = (url: string | undefined): string[] => {
    const valueSet = terminology.find((t): t is ValueSet => t.resourceType === 'ValueSet' && t.url === url);
    return (valueSet?.compose?.include ?? []).flatMap((i) =>
      i.concept
        ? i.concept.map((c) => c.code)
        : (
            terminology.find((t): t is CodeSystem => t.resourceType === 'CodeSystem' && t.url === i.system)?.concept ??
            []
          ).map((c) => c.code),
    );
  };
  return (definition.parameter ?? [])
    .filter((p) => p.use === 'in')
    .map((p) => {
      const types = [
        p.type,
        ...(p.extension ?? []).filter((e) => e.url === ALLOWED_TYPE_EXTENSION).map((e) => e.valueCode),
      ];
      if (!types.every(isParameterType))
        throw new Error(`${definition.id}: parameter ${p.name} has a type the parameter reader does not know`);
      const spec: ParameterSpec = {
        name: p.name,
        types,
        min: p.min,
        max: p.max === '*' ? Number.POSITIVE_INFINITY : Number(p.max),
      };
      if (p.binding?.strength !== 'required') return spec;
      const codes = codesOf(p.binding.valueSet);
      if (codes.length === 0)
        throw new Error(
          `${definition.id}: parameter ${p.name} is bound to ${p.binding.valueSet}, which lists no codes`,
        );
      return { ...spec, codes };
    });
}

function valueOf(p: ParametersParameter, spec: ParameterSpec, at: string): ReadParameter {
  const keys = spec.types.map((t) => VALUE_KEY[t]);
  const given = Object.keys(p).filter((k) => k.startsWith('value'));
  const type = spec.types.find((t) => given.length === 1 && given[0] === VALUE_KEY[t]);
  const value = type ? p[VALUE_KEY[type]] : undefined;
  if (type === undefined || typeof value !== JS_TYPE[type])
    throw badRequest(`Parameter ${spec.name} must have ${keys.join(' or ')}`, at);
  if (spec.codes && typeof value === 'string' && !spec.codes.includes(value))
    throw new AppError(400, {
      code: 'code-invalid',
      diagnostics: `Parameter ${spec.name} must be one of ${spec.codes.join(', ')} (found ${JSON.stringify(value)})`,
      location: at,
    });
  return { value: value as ParameterValue, type, at };
}

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
    found.get(spec.name)?.push(valueOf(p, spec, at));
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
