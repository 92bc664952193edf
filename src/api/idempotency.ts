import { createHash, randomUUID } from 'node:crypto';
import type { Basic, BundleEntry, Identifier } from 'fhir/r4.js';
import { canonicalJson, judgeKey } from '../domain/idempotency.js';
import * as keyRecord from '../fhir/idempotencyRecord.js';
import type { Caller } from '../auth/caller.js';
import { SYSTEMS } from '../fhir/common.js';
import { log } from '../log/logger.js';
import { AppError, badRequest, isStoreConflict } from '../outcome/errors.js';
import type { FhirStore } from '../store/fhirStore.js';
import { weakEtag } from '../util/etag.js';

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

/** What the answers say when the key is busy, or was used for something else. */
export interface KeyWords {
  busy: string;
  reused: string;
}

/** The answers' words for a client's Idempotency-Key. */
export function clientKeyWords(label: string): KeyWords {
  return {
    busy: `A request with Idempotency-Key "${label}" is still being processed: retry after a few seconds to get its result`,
    reused: `Idempotency-Key "${label}" was already used for a different request: send a new key for a new request`,
  };
}

/** Every holder of a lock asks the same: the lock is about who goes first, not what they send. */
const LOCK_FINGERPRINT = 'lock';

export interface AdmissionSettings {
  /** How long an in-progress record keeps other requests out before one may take the key over. */
  leaseMs: number;
  retryAfterSeconds: number;
}

export const IDEMPOTENCY_SYSTEM = SYSTEMS.identifier('idempotency-key');

/**
 * The caller's `Idempotency-Key`, scoped to who sent it and to what, so two people (or two
 * routes) using the same key never collide. It names the write's Provenance, and is the
 * business identifier of what the write creates.
 */
export interface IdempotencyKey {
  /** The id of the Provenance that records the write: its existence means the write happened. */
  provenanceId: string;
  identifier: Identifier;
}

export function idempotencyKey(caller: Caller, scope: string, key: string): IdempotencyKey {
  const digest = createHash('sha256')
    .update(`${caller.issuer}\n${caller.subject}\n${scope}\n${key}`)
    .digest('hex')
    .slice(0, 48);
  return { provenanceId: `idem-${digest}`, identifier: { system: IDEMPOTENCY_SYSTEM, value: digest } };
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header's value, checked: 400 when it is malformed, or missing where required. */
export function keyHeader(value: string | undefined, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  if (value === undefined || !KEY_PATTERN.test(value)) {
    throw badRequest(
      'Send an Idempotency-Key header (1 to 255 visible characters), the same on every retry of this request',
    );
  }
  return value;
}

/** A request's fingerprint: the same body (and version precondition) gives the same one. */
export function requestFingerprint(body: unknown, ifMatch: string | undefined): string {
  return createHash('sha256')
    .update(canonicalJson({ body, ifMatch: ifMatch ?? null }))
    .digest('hex');
}

/** Attempts remembered as stopped: enough for every request a busy minute can leave undecided. */
const ABANDONED_LIMIT = 10000;

export class IdempotencyKeys {
  /**
   * Attempts of this process that ended without knowing whether their write landed (the store
   * could not be reached). A retry finding one of them in progress may take the key at once
   * instead of waiting out the lease: nothing of this process still runs under it.
   */
  private readonly abandoned = new Set<string>();

  constructor(
    private readonly store: FhirStore,
    readonly settings: AdmissionSettings,
  ) {}

  /** Takes the key for this request, or says why it must not execute. Bounded: a key fought over too long answers 409. */
  async admit(key: string, words: KeyWords, fingerprint: string): Promise<Admission> {
    // One attempt id for this request: if the store stops answering, it may still write this
    // attempt's record after we gave up, and a retry must then know the attempt is gone.
    const attempt = randomUUID();
    try {
      return await this.take({ key, fingerprint, state: 'in-progress', attempt }, words);
    } catch (e) {
      if (isUnreachable(e)) this.abandon(attempt);
      throw e;
    }
  }

  private async take(mine: keyRecord.KeyRecord, words: KeyWords): Promise<Admission> {
    for (let round = 0; round < 4; round++) {
      let found: Basic | undefined;
      try {
        const created = await this.store.create(keyRecord.toFhir(mine), {
          ifNoneExist: keyRecord.recordQuery(mine.key),
        });
        if (created.created) return { kind: 'execute', hold: held(created.resource, created.versionId) };
        found = created.resource;
      } catch (e) {
        // Another request created the record at the same instant: judge theirs.
        if (!isStoreConflict(e)) throw e;
        found = await this.find(mine.key);
        if (!found) continue;
      }
      const existing = keyRecord.fromFhir(found);
      if (!existing?.id || existing.version === undefined)
        throw new AppError(500, { code: 'exception', diagnostics: 'The Idempotency-Key record is unreadable' });
      const holderGone = existing.attempt !== mine.attempt && this.abandoned.has(existing.attempt);
      const verdict = judgeKey(
        {
          state: existing.state,
          fingerprint: existing.fingerprint,
          sinceMs: Date.parse(existing.since ?? '') || 0,
          holderGone,
        },
        mine.fingerprint,
        Date.now(),
        this.settings.leaseMs,
      );
      if (verdict === 'replay') return { kind: 'replay' };
      if (verdict === 'different-request') {
        throw new AppError(422, { code: 'business-rule', diagnostics: words.reused });
      }
      if (verdict === 'in-progress') throw this.inProgress(words);
      try {
        const taken = await this.store.update(
          { ...keyRecord.toFhir({ ...mine, id: existing.id }), id: existing.id },
          { ifMatchVersion: existing.version },
        );
        this.abandoned.delete(existing.attempt);
        log().info('idempotency key taken over', { from: existing.state, holderGone });
        return { kind: 'execute', hold: held(taken.resource, taken.versionId) };
      } catch (e) {
        // Someone else took it over or completed it first: look again.
        if (!isStoreConflict(e)) throw e;
      }
    }
    throw this.inProgress(words);
  }

  /**
   * A lock on `key` (e.g. one person) for one write at a time: the holder's transaction frees it
   * (`releaseEntry`), conditional on the version it holds, and a crashed holder's lock frees
   * itself after the lease. Others meanwhile get 409 with Retry-After and `words.busy`.
   */
  async lock(key: string, words: Pick<KeyWords, 'busy'>): Promise<KeyHold> {
    const admission = await this.admit(key, { ...words, reused: words.busy }, LOCK_FINGERPRINT);
    if (admission.kind !== 'execute')
      throw new AppError(500, { code: 'exception', diagnostics: 'A lock record was completed' });
    return admission.hold;
  }

  /** The transaction entry that marks the key completed, only if this request still holds it. */
  completionEntry(hold: KeyHold): BundleEntry {
    return stateEntry(hold, 'completed');
  }

  /** The transaction entry that frees a lock as the write lands, only if this request still holds it. */
  releaseEntry(hold: KeyHold): BundleEntry {
    return stateEntry(hold, 'released');
  }

  /**
   * After a failed write, the error to answer with. A lost race for the key itself (another
   * request took it over) is "in progress". When the store could not be reached the write may
   * still land: the key stays held (a retry here may take it over at once, elsewhere after the
   * lease). Any other failure wrote nothing, so the key is freed for a corrected request.
   */
  async afterFailure(hold: KeyHold, e: unknown, words: Pick<KeyWords, 'busy'>): Promise<unknown> {
    if (isUnreachable(e)) {
      this.abandon(hold.record.attempt);
      return e;
    }
    if (isStoreConflict(e) && !(await this.stillHeld(hold))) return this.inProgress(words);
    await this.release(hold);
    return e;
  }

  private abandon(attempt: string): void {
    if (this.abandoned.size >= ABANDONED_LIMIT) this.abandoned.clear();
    this.abandoned.add(attempt);
  }

  private async stillHeld(hold: KeyHold): Promise<boolean> {
    const current = await this.store.readIfExists<Basic>('Basic', hold.record.id);
    return current?.meta?.versionId === hold.record.version;
  }

  /** Frees the key (conditional on this request's version, so a write that did land keeps it). Best effort: else the lease frees it. */
  private async release(hold: KeyHold): Promise<void> {
    const { id, version } = hold.record;
    try {
      await this.store.update(
        { ...keyRecord.toFhir({ ...hold.record, state: 'released' }), id },
        { ifMatchVersion: version },
      );
    } catch (e) {
      log().warn('idempotency key not released', { status: e instanceof AppError ? e.status : undefined });
    }
  }

  private inProgress(words: Pick<KeyWords, 'busy'>): AppError {
    return new AppError(
      409,
      { code: 'conflict', diagnostics: words.busy },
      { retryAfterSeconds: this.settings.retryAfterSeconds },
    );
  }

  private async find(key: string): Promise<Basic | undefined> {
    const bundle = await this.store.search<Basic>('Basic', {
      identifier: `${keyRecord.IDEMPOTENCY_RECORD_SYSTEM}|${key}`,
      _count: 2,
    });
    return bundle.entry?.[0]?.resource;
  }
}

/** A transaction entry moving the key's record to `state`, conditional on the version this request holds. */
function stateEntry(hold: KeyHold, state: keyRecord.KeyState): BundleEntry {
  const { id, version } = hold.record;
  return {
    resource: keyRecord.toFhir({ ...hold.record, state }),
    request: { method: 'PUT', url: `Basic/${id}`, ifMatch: weakEtag(version) },
  };
}

/** The store did not answer (or failed): what it did with the call is unknown. */
function isUnreachable(e: unknown): boolean {
  return e instanceof AppError && (e.options.reason === 'unavailable' || e.options.reason === 'upstream-error');
}

function held(resource: Basic, versionId: string): KeyHold {
  const record = keyRecord.fromFhir(resource);
  if (!record?.id)
    throw new AppError(502, {
      code: 'exception',
      diagnostics: 'The FHIR store answered the Idempotency-Key record without an id',
    });
  return { record: { ...record, id: record.id, version: versionId || record.version || '' } };
}
