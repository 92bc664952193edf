import type { SearchParams } from '../../store/fhirStore.js';
import { patientParam } from '../../auth/compartment.js';
import { AppError, badRequest } from '../../outcome/errors.js';
import type { SearchParamSpec, ServedType } from './served.js';

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
/** A FHIR date search value: an optional comparator, then a date or dateTime (R4 search, "date"). */
const DATE_VALUE =
  /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
const NUMBER_VALUE = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** The result parameters every search understands besides its type's own, as /fhir/metadata lists them. */
export function resultParams(served: ServedType): SearchParamSpec[] {
  return [
    { name: '_count', type: 'number', documentation: `Page size, 0 to ${MAX_COUNT} (default ${DEFAULT_COUNT})` },
    { name: '_offset', type: 'number', documentation: `Entries to skip, 0 to ${MAX_OFFSET} (the next link sets it)` },
    {
      name: '_sort',
      type: 'string',
      documentation: `Comma-separated sort keys, each optionally prefixed with - for descending: ${sortKeys(served).join(', ')}`,
    },
  ];
}

/** What a search may be sorted by: its own parameters but the references (HAPI sorts those by id, not by meaning). */
function sortKeys(served: ServedType): string[] {
  return served.params.filter((s) => s.type !== 'reference').map((s) => s.name);
}

/** A value HAPI would refuse in its own words: refused here, naming the parameter and the value. */
function checkValue(spec: SearchParamSpec, value: string): void {
  const form = spec.type === 'date' ? DATE_VALUE : spec.type === 'number' ? NUMBER_VALUE : undefined;
  for (const v of value.split(',')) {
    if (form && !form.test(v))
      throw new AppError(400, {
        code: 'value',
        diagnostics: `${spec.name}=${v} is not a ${spec.type} (e.g. ${spec.type === 'date' ? 'ge2026-01-01 or 2026-03-04T10:00:00Z' : '3 or gt2.5'})`,
        location: spec.name,
      });
    if (v === '') throw badRequest(`${spec.name} has an empty value`, spec.name);
  }
}

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
        // Checked for every /fhir request by the format negotiation (406 unless JSON).
        continue;
      case '_sort': {
        const fields = single(key, value).split(',');
        const keys = sortKeys(served);
        for (const f of fields) {
          const name = f.replace(/^-/, '');
          if (!keys.includes(name)) throw notSupported(`Cannot sort by ${name} (supported: ${keys.join(', ')})`, key);
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
    const spec = allowed.get(key);
    for (const v of list) if (spec) checkValue(spec, v);
    params[key] = list.length === 1 ? (list[0] as string) : list;
  }
  if (patients.size > 1) throw badRequest('The search names more than one patient', served.compartment?.[0]);
  const [patientId] = patients;
  return { ...(patientId !== undefined ? { patientId } : {}), params, includedTypes, count, offset };
}
