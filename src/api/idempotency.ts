import { createHash, randomUUID } from 'node:crypto';
import type { Basic, BundleEntry } from 'fhir/r4.js';
import { canonicalJson, judgeKey, type KeyVerdict } from '../domain/idempotency.js';
import * as keyRecord from '../fhir/idempotencyRecord.js';
import { log } from '../log/logger.js';
import { AppError, isStoreConflict } from '../outcome/errors.js';
import type { FhirStore } from '../store/fhirStore.js';

/**
 * Idempotency-Key admission, shared by every write that takes the header. The key's record lives
 * in HAPI (not in this process), so it holds across facade instances and restarts:
 *
 * 1. the first request creates the record conditionally on the key (HAPI lets exactly one of
 *    several simultaneous creates succeed) and executes;
 * 2. its write transaction carries the record's change to `completed`, conditional on the
 *    version it created, so the write and the key's completion are one atomic step;
 * 3. any other request with the key is judged against the record (src/domain/idempotency.ts):
 *    replay, 422 for a different request, 409 while the first is executing, or take-over after a
 *    failure or an expired lease (itself conditional on the record's version, so a late write of
 *    the old holder and the take-over can never both succeed).
 */
export interface KeyHold {
  record: keyRecord.KeyRecord & { id: string; version: string };
}

export type Admission = { kind: 'execute'; hold: KeyHold } | { kind: 'replay' };

export interface AdmissionSettings {
  /** How long an in-progress record keeps other requests out before one may take the key over. */
  leaseMs: number;
  retryAfterSeconds: number;
}

/** A request's fingerprint: the same body (and version precondition) gives the same one. */
export function requestFingerprint(body: unknown, ifMatch: string | undefined): string {
  return createHash('sha256').update(canonicalJson({ body, ifMatch: ifMatch ?? null })).digest('hex');
}

/** Takes the key for this request, or says why it must not execute. Bounded: a key fought over too long answers 409. */
export async function admit(store: FhirStore, key: string, label: string, fingerprint: string, settings: AdmissionSettings): Promise<Admission> {
  const mine = (): keyRecord.KeyRecord => ({ key, fingerprint, state: 'in-progress', attempt: randomUUID() });
  for (let round = 0; round < 4; round++) {
    let found: Basic | undefined;
    try {
      const created = await store.create(keyRecord.toFhir(mine()), { ifNoneExist: keyRecord.recordQuery(key) });
      if (created.created) return { kind: 'execute', hold: held(created.resource, created.versionId) };
      found = created.resource;
    } catch (e) {
      // Another request created the record at the same instant: judge theirs.
      if (!isStoreConflict(e)) throw e;
      found = await findRecord(store, key);
      if (!found) continue;
    }
    const existing = keyRecord.fromFhir(found);
    if (!existing?.id || existing.version === undefined) throw new AppError(500, { code: 'exception', diagnostics: 'The Idempotency-Key record is unreadable' });
    const verdict: KeyVerdict = judgeKey(
      { state: existing.state, fingerprint: existing.fingerprint, sinceMs: Date.parse(existing.since ?? '') || 0 },
      fingerprint, Date.now(), settings.leaseMs,
    );
    if (verdict === 'replay') return { kind: 'replay' };
    if (verdict === 'different-request') {
      throw new AppError(422, { code: 'business-rule', diagnostics: `Idempotency-Key "${label}" was already used for a different request: send a new key for a new request` });
    }
    if (verdict === 'in-progress') throw inProgress(label, settings.retryAfterSeconds);
    try {
      const taken = await store.update({ ...keyRecord.toFhir({ ...mine(), id: existing.id }), id: existing.id }, { ifMatchVersion: existing.version });
      log().info('idempotency key taken over', { from: existing.state });
      return { kind: 'execute', hold: held(taken.resource, taken.versionId) };
    } catch (e) {
      // Someone else took it over or completed it first: look again.
      if (!isStoreConflict(e)) throw e;
    }
  }
  throw inProgress(label, settings.retryAfterSeconds);
}

/** The transaction entry that marks the key completed, only if this request still holds it. */
export function completionEntry(hold: KeyHold): BundleEntry {
  const { id, version } = hold.record;
  return {
    resource: keyRecord.toFhir({ ...hold.record, state: 'completed' }),
    request: { method: 'PUT', url: `Basic/${id}`, ifMatch: `W/"${version}"` },
  };
}

/** Whether this request still holds the key (after a failed write: was the lost race ours or the key's?). */
export async function stillHeld(store: FhirStore, hold: KeyHold): Promise<boolean> {
  const current = await store.readIfExists<Basic>('Basic', hold.record.id);
  return current?.meta?.versionId === hold.record.version;
}

/**
 * Frees the key after a request that certainly wrote nothing (refused before or by the store),
 * so a corrected retry need not wait for the lease. Best effort: if it fails, the lease frees it.
 */
export async function release(store: FhirStore, hold: KeyHold): Promise<void> {
  const { id, version } = hold.record;
  try {
    await store.update({ ...keyRecord.toFhir({ ...hold.record, state: 'released' }), id }, { ifMatchVersion: version });
  } catch (e) {
    log().warn('idempotency key not released', { status: e instanceof AppError ? e.status : undefined });
  }
}

export function inProgress(label: string, retryAfterSeconds: number): AppError {
  return new AppError(409, {
    code: 'conflict', diagnostics: `A request with Idempotency-Key "${label}" is still being processed: retry after a few seconds to get its result`,
  }, { retryAfterSeconds });
}

async function findRecord(store: FhirStore, key: string): Promise<Basic | undefined> {
  const bundle = await store.search<Basic>('Basic', { identifier: `${keyRecord.IDEMPOTENCY_RECORD_SYSTEM}|${key}`, _count: 2 });
  return bundle.entry?.[0]?.resource;
}

function held(resource: Basic, versionId: string): KeyHold {
  const record = keyRecord.fromFhir(resource);
  if (!record?.id) throw new AppError(502, { code: 'exception', diagnostics: 'The FHIR store answered the Idempotency-Key record without an id' });
  return { record: { ...record, id: record.id, version: versionId || record.version || '' } };
}
