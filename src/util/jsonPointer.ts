import type { ErrorObject } from 'ajv';

/** A property name as one JSON pointer token (RFC 6901): `~` and `/` escaped. */
export function pointerToken(name: unknown): string {
  return String(name).replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The JSON pointer of the field an ajv error is about. ajv reports a missing or unknown field, and a
 * property name that breaks `propertyNames`, on the object holding it; the pointer names the field itself.
 */
export function errorPointer(e: ErrorObject): string {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required') return `${e.instancePath}/${pointerToken(params.missingProperty)}`;
  if (e.keyword === 'additionalProperties') return `${e.instancePath}/${pointerToken(params.additionalProperty)}`;
  if (e.keyword === 'propertyNames') return `${e.instancePath}/${pointerToken(params.propertyName)}`;
  return e.instancePath;
}
