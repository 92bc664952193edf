import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.js';
import type { FhirStore } from '../store/fhirStore.js';
import { log } from '../log/logger.js';
import { AppError } from '../outcome/errors.js';
import type { ConformanceFile, ConformanceResource } from './files.js';

export interface LoadSummary {
  total: number;
  written: number;
  unchanged: number;
}

/** Stable JSON of a resource without server-managed fields, to tell whether it changed. */
function comparable(resource: FhirResource): string {
  const sortKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  const { meta: _meta, ...rest } = resource as FhirResource & { meta?: unknown };
  return JSON.stringify(sortKeys(rest));
}

/**
 * Upserts conformance resources by id: one batch read to see what HAPI already holds, then one
 * transaction writing only the new or changed ones (so unchanged resources keep their version).
 */
export async function loadConformance(store: FhirStore, files: ConformanceFile[]): Promise<LoadSummary> {
  if (files.length === 0) return { total: 0, written: 0, unchanged: 0 };
  const reads: Bundle = {
    resourceType: 'Bundle',
    type: 'batch',
    // A search by _id, not a read: HAPI answers a read of OperationDefinition/<id> from its own
    // built-in operations (HAPI-2249), never from what is stored.
    entry: files.map(({ resource }) => ({
      request: { method: 'GET', url: `${resource.resourceType}?_id=${encodeURIComponent(resource.id)}` },
    })),
  };
  const current = await store.transaction(reads);
  const changed = files.filter(({ resource }, i) => {
    const found = current.entry?.[i]?.resource;
    const existing = found?.resourceType === 'Bundle' ? found.entry?.[0]?.resource : undefined;
    return (
      !existing || existing.resourceType !== resource.resourceType || comparable(existing) !== comparable(resource)
    );
  });
  if (changed.length > 0) {
    const writes: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: changed.map(({ resource }): BundleEntry => ({
        fullUrl: `${resource.resourceType}/${resource.id}`,
        resource,
        request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
      })),
    };
    try {
      await store.transaction(writes);
    } catch (e) {
      throw e instanceof AppError ? new ConformanceLoadError(changed, e) : e;
    }
  }
  const summary = { total: files.length, written: changed.length, unchanged: files.length - changed.length };
  log().info('conformance resources loaded', summary);
  return summary;
}

/** HAPI refused a conformance resource: start-up stops, naming the files involved. */
export class ConformanceLoadError extends Error {
  constructor(
    files: { file: string; resource: ConformanceResource }[],
    readonly storeError: AppError,
  ) {
    super(
      `The FHIR store refused the conformance resources (HTTP ${storeError.status}): ${storeError.message}. Files written together: ${files.map((f) => f.file).join(', ')}`,
    );
    this.name = 'ConformanceLoadError';
  }
}
