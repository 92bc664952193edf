import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FhirResource } from 'fhir/r4.js';
import { isId } from '../domain/ids.js';

/** Resource kinds that profiles/ may hold: definitions only, never personal data. */
export const CONFORMANCE_TYPES = [
  'StructureDefinition',
  'CodeSystem',
  'ValueSet',
  'ConceptMap',
  'NamingSystem',
  'Questionnaire',
  'SearchParameter',
  'OperationDefinition',
] as const;

export type ConformanceResource = FhirResource & { id: string; url?: string; version?: string };

export interface ConformanceFile {
  /** Path relative to the profiles directory, for messages. */
  file: string;
  resource: ConformanceResource;
}

export class ConformanceFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'ConformanceFileError';
  }
}

async function listJsonFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return listJsonFiles(full);
      return entry.isFile() && entry.name.endsWith('.json') ? [full] : [];
    }),
  );
  return nested.flat().sort();
}

function checkResource(file: string, value: unknown): ConformanceResource {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConformanceFileError(file, 'is not a JSON object');
  }
  const record = value as Record<string, unknown>;
  const type = record.resourceType;
  if (typeof type !== 'string' || !(CONFORMANCE_TYPES as readonly string[]).includes(type)) {
    throw new ConformanceFileError(
      file,
      `resourceType must be one of ${CONFORMANCE_TYPES.join(', ')} (found ${JSON.stringify(type)})`,
    );
  }
  if (typeof record.id !== 'string' || !isId(record.id)) {
    throw new ConformanceFileError(
      file,
      'id is missing or not a valid FHIR id (letters, digits, "-" and ".", at most 64)',
    );
  }
  if (typeof record.url !== 'string' || !/^https?:\/\//.test(record.url)) {
    throw new ConformanceFileError(file, 'url (the canonical URL) is missing or not an http(s) URL');
  }
  if (record.version !== undefined && typeof record.version !== 'string') {
    throw new ConformanceFileError(file, 'version must be a string');
  }
  return value as ConformanceResource;
}

/**
 * Reads every JSON resource under the profiles directory. Any malformed file stops start-up,
 * named with the reason, before anything is written to the store.
 */
export async function readConformanceFiles(dir: string): Promise<ConformanceFile[]> {
  let paths: string[];
  try {
    paths = await listJsonFiles(dir);
  } catch (e) {
    throw new ConformanceFileError(
      dir,
      `cannot read the profiles directory (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const files: ConformanceFile[] = [];
  const byKey = new Map<string, string>();
  for (const full of paths) {
    const file = path.relative(dir, full);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(full, 'utf8'));
    } catch (e) {
      throw new ConformanceFileError(file, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    const resource = checkResource(file, parsed);
    for (const key of [
      `${resource.resourceType}/${resource.id}`,
      `${resource.resourceType} ${resource.url}|${resource.version ?? ''}`,
    ]) {
      const other = byKey.get(key);
      if (other) throw new ConformanceFileError(file, `duplicates ${key} already defined in ${other}`);
      byKey.set(key, file);
    }
    files.push({ file, resource });
  }
  return files;
}

/** One file of the profiles directory, read and checked when a module loads (as at start-up, a bad file stops it). */
export function readConformanceFileSync(dir: string, file: string): ConformanceResource {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  } catch (e) {
    throw new ConformanceFileError(file, `cannot be read as JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return checkResource(file, parsed);
}
