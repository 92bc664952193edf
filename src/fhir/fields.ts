import type { Extension, Identifier, Reference } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';
import { SYSTEMS } from './common.js';

/**
 * Small readers the people-and-records mappers share. Each names the FHIR field (a JSON pointer
 * into the resource) when the input is unusable, so a client learns what to fix.
 */

export function required<T>(value: T | undefined | null, field: string): T {
  if (value === undefined || value === null || value === '') throw new DomainError(field, `${field} is missing`);
  return value;
}

export function resourceId(resource: { id?: string | undefined }): string {
  return required(resource.id, '/id');
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], field: string): T {
  if (value === undefined || !(allowed as readonly string[]).includes(value)) {
    throw new DomainError(field, `${field} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value as T;
}

/** `{ key: value }` when value is defined, `{}` otherwise: optional fields stay absent through a round trip. */
export function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** An extension of ours with its index, so errors can point at it. */
export function extensionAt(
  extensions: Extension[] | undefined,
  id: string,
): { ext: Extension; at: string } | undefined {
  const i = extensions?.findIndex((e) => e.url === SYSTEMS.extension(id)) ?? -1;
  const ext = i >= 0 ? extensions?.[i] : undefined;
  return ext ? { ext, at: `/extension/${i}` } : undefined;
}

/** A sub-extension of a complex extension (relative url), with its pointer. */
export function subExtension(
  parent: { ext: Extension; at: string },
  name: string,
): { ext: Extension; at: string } | undefined {
  const i = parent.ext.extension?.findIndex((e) => e.url === name) ?? -1;
  const ext = i >= 0 ? parent.ext.extension?.[i] : undefined;
  return ext ? { ext, at: `${parent.at}/extension/${i}` } : undefined;
}

/** A logical reference by business identifier, for things we know only by a code (ODS, team). */
export function identifierReference(type: string, system: string, value: string, display?: string): Reference {
  return { type, identifier: { system, value }, ...opt('display', display) };
}

/** The value of a logical reference's identifier in the given system. */
export function identifierValue(ref: Reference | undefined, system: string, field: string): string {
  const id: Identifier | undefined = ref?.identifier;
  if (id?.system !== system || !id.value)
    throw new DomainError(field, `${field} must identify it with a ${system} identifier`);
  return id.value;
}

export function requireBoolean(value: boolean | undefined, field: string): boolean {
  if (typeof value !== 'boolean') throw new DomainError(field, `${field} must be true or false`);
  return value;
}
