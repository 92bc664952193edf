import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4/index.js';
import type { FhirResource } from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';

/** One row of a mappings/ table. */
export interface MappingRow {
  field: string;
  path: string;
  type: string;
  cardinality: string;
  codeSystem: string;
  note: string;
}

const HEADER = ['PHB field', 'FHIR path', 'type', 'cardinality', 'code system', 'note'];

function cells(line: string): string[] {
  // A cell may hold an escaped pipe (\|), as in FHIRPath `a | b`.
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) =>
      c
        .trim()
        .replace(/^`(.*)`$/, '$1')
        .replace(/\\\|/g, '|'),
    );
}

/** Reads the mapping table of mappings/<name>.md (the table whose header is HEADER). */
export async function readMappingTable(name: string): Promise<MappingRow[]> {
  const text = await readFile(path.join(repoRoot, 'mappings', `${name}.md`), 'utf8');
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim().startsWith('|') && cells(l).join('|') === HEADER.join('|'));
  if (start < 0) throw new Error(`mappings/${name}.md has no table with header | ${HEADER.join(' | ')} |`);
  const rows: MappingRow[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.trim().startsWith('|')) break;
    const [field = '', fhirPath = '', type = '', cardinality = '', codeSystem = '', note = ''] = cells(line);
    rows.push({ field, path: fhirPath, type, cardinality, codeSystem, note });
  }
  return rows;
}

/** Values of a dotted domain field; `items[].cost` collects across an array. */
export function domainValues(object: unknown, field: string): unknown[] {
  let current: unknown[] = [object];
  for (const part of field.split('.')) {
    const many = part.endsWith('[]');
    const key = many ? part.slice(0, -2) : part;
    current = current.flatMap((value) => {
      if (value === null || typeof value !== 'object') return [];
      const next = (value as Record<string, unknown>)[key];
      if (next === undefined) return [];
      if (many) return Array.isArray(next) ? next : [];
      return Array.isArray(next) ? [next] : [next];
    });
  }
  return current.flatMap((v) => (Array.isArray(v) ? v : [v]));
}

export function evaluate(resource: FhirResource, expression: string): unknown[] {
  return fhirpath.evaluate(resource, expression, undefined, r4Model) as unknown[];
}

function asComparable(value: unknown, type: string): string {
  if (type === 'Money' && typeof value === 'number') return String(value / 100);
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/**
 * Checks one row: when the domain object has the field, the FHIR path must yield it (a
 * reference row matches on "Type/id", a Money row on pounds); when it has not, nothing needs
 * to be there. Returns a problem description, or undefined when the row holds.
 */
export function checkRow(row: MappingRow, domain: unknown, resources: FhirResource[]): string | undefined {
  const resourceType = row.path.split('.')[0] ?? '';
  const resource = resources.find((r) => r.resourceType === resourceType);
  if (!resource) return `${row.field}: no ${resourceType} produced`;
  const expected = domainValues(domain, row.field);
  if (expected.length === 0) return undefined;
  let actual: unknown[];
  try {
    actual = evaluate(resource, row.path);
  } catch (e) {
    return `${row.field}: FHIR path ${row.path} does not evaluate (${e instanceof Error ? e.message : String(e)})`;
  }
  const got = actual.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)));
  const missing = expected
    .map((v) => asComparable(v, row.type))
    .filter((want) => !got.some((g) => g === want || g.endsWith(`/${want}`)));
  return missing.length === 0
    ? undefined
    : `${row.field}: ${row.path} gave ${JSON.stringify(got)}, expected ${JSON.stringify(missing)}`;
}

/**
 * Every leaf field a domain object holds, in the tables' dotted notation (`items[].cost`): a list of
 * objects is followed into, a list of values is one field, an empty list has none. `omit` leaves
 * out top-level keys that are no field of the table (a discriminator such as `kind`).
 */
export function fieldPaths(value: unknown, omit: readonly string[] = [], prefix = ''): string[] {
  if (value === null || typeof value !== 'object') return [prefix];
  if (Array.isArray(value)) {
    if (value.length === 0) return [];
    const objects = value.filter((v) => v !== null && typeof v === 'object');
    return objects.length ? objects.flatMap((v) => fieldPaths(v, [], `${prefix}[]`)) : [prefix];
  }
  return Object.entries(value)
    .filter(([k]) => prefix !== '' || !omit.includes(k))
    .flatMap(([k, v]) => fieldPaths(v, [], prefix ? `${prefix}.${k}` : k));
}
