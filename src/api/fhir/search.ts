import type { SearchParams } from '../../store/fhirStore.js';
import { patientParam } from '../../auth/compartment.js';
import { AppError, badRequest } from '../../outcome/errors.js';
import type { ServedType } from './served.js';

/**
 * A search as the facade will run it: checked against the type's allow-list, with the
 * compartment restriction taken out (the facade adds it back for the patient the guard allowed).
 */
export interface CheckedSearch {
  /** The patient the query names, if any (the guard decides whether the caller may search it). */
  patientId?: string;
  /** What goes to HAPI, besides the compartment parameter. */
  params: SearchParams;
  /** Types that `_include`/`_revinclude` bring in (the caller must be allowed to read each). */
  includedTypes: string[];
  count: number;
  offset: number;
}

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 100;
const MAX_OFFSET = 10000;
const FORMATS = new Set(['json', 'application/json', 'application/fhir+json']);

const notSupported = (diagnostics: string, location: string): AppError =>
  new AppError(400, { code: 'not-supported', diagnostics, location });

function values(name: string, value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((v): v is string => typeof v === 'string')) throw badRequest(`${name} must be a plain value`, name);
  return list;
}

function single(name: string, value: unknown): string {
  const list = values(name, value);
  if (list.length !== 1) throw badRequest(`Give ${name} once`, name);
  return list[0] as string;
}

function integer(name: string, value: unknown, min: number, max: number): number {
  const text = single(name, value);
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw badRequest(`${name} must be a whole number from ${min} to ${max}`, name);
  return n;
}

/**
 * Checks a query against the served type. Refused with 400 OperationOutcome: unknown
 * parameters, modifiers, chains (`subject.name`), `_has`, includes not in the allow-list,
 * `:iterate`, several patients, and a patient parameter that is not a Patient.
 */
export function checkSearch(served: ServedType, query: Record<string, unknown>): CheckedSearch {
  const params: SearchParams = {};
  const includedTypes: string[] = [];
  const patients = new Set<string>();
  let count = DEFAULT_COUNT;
  let offset = 0;
  const allowed = new Map(served.params.map((s) => [s.name, s]));
  for (const [key, value] of Object.entries(query)) {
    if (key.includes('.') || key.startsWith('_has'))
      throw notSupported(`Chained parameters are not supported here (${key})`, key);
    if (key.includes(':')) throw notSupported(`Search modifiers are not supported here (${key})`, key);
    switch (key) {
      case '_count':
        count = integer(key, value, 0, MAX_COUNT);
        continue;
      case '_offset':
        offset = integer(key, value, 0, MAX_OFFSET);
        continue;
      case '_format':
        if (!FORMATS.has(single(key, value))) throw notSupported('Only JSON is served', key);
        continue;
      case '_sort': {
        const fields = single(key, value).split(',');
        for (const f of fields) {
          const name = f.replace(/^-/, '');
          if (!allowed.has(name)) throw notSupported(`Cannot sort by ${name}`, key);
        }
        params._sort = fields.join(',');
        continue;
      }
      case '_include':
      case '_revinclude': {
        const table = (key === '_include' ? served.include : served.revinclude) ?? {};
        const list = values(key, value);
        for (const v of list) {
          const target = table[v];
          if (!target)
            throw notSupported(
              `${key}=${v} is not supported for ${served.type} (supported: ${Object.keys(table).join(', ') || 'none'})`,
              key,
            );
          includedTypes.push(target);
        }
        params[key] = list;
        continue;
      }
    }
    if (served.compartment?.includes(key)) {
      for (const v of values(key, value)) {
        if (v.includes(',')) throw badRequest(`${key} names one patient`, key);
        const id = patientParam(v, key);
        if (id !== undefined) patients.add(id);
      }
      continue;
    }
    if (!allowed.has(key)) {
      throw notSupported(
        `${served.type} cannot be searched by ${key} here (supported: ${[...allowed.keys()].join(', ')})`,
        key,
      );
    }
    const list = values(key, value);
    params[key] = list.length === 1 ? (list[0] as string) : list;
  }
  if (patients.size > 1) throw badRequest('The search names more than one patient', served.compartment?.[0]);
  const [patientId] = patients;
  return { ...(patientId !== undefined ? { patientId } : {}), params, includedTypes, count, offset };
}
