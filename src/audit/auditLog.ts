import type { AuditEvent, Bundle } from 'fhir/r4.js';
import { log } from '../log/logger.js';
import { AppError } from '../outcome/errors.js';
import type { FhirStore } from '../store/fhirStore.js';
import { toAuditEvent, withLogicalReferences, type AccessRecord } from './auditEvent.js';

export interface AuditLogSettings {
  attempts: number;
  retryDelayMs: number;
  /** Events gathered into one HAPI transaction: one write per busy moment instead of one per request. */
  maxBatch: number;
  /** How long the first event of a batch waits for company. */
  batchDelayMs: number;
}

const DEFAULTS: AuditLogSettings = { attempts: 3, retryDelayMs: 250, maxBatch: 50, batchDelayMs: 25 };

interface Queued {
  event: AuditEvent;
  record: AccessRecord;
  done: (id: string | undefined) => void;
}

/**
 * Writes AuditEvents to HAPI off the response path: the response does not wait, but every event
 * is tracked, written in batches (one transaction each), retried, and if it still fails an error
 * is logged (ids only), so no event is dropped silently. `flush()` waits for everything queued or
 * in flight (shutdown, tests).
 */
export class AuditLog {
  private readonly settings: AuditLogSettings;
  private readonly pending = new Set<Promise<unknown>>();
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: FhirStore, settings: Partial<AuditLogSettings> = {}) {
    this.settings = { ...DEFAULTS, ...settings };
  }

  /** Queues the event and returns at once; the promise (the stored id, or undefined if it failed) need not be awaited. */
  record(record: AccessRecord): Promise<string | undefined> {
    const written = new Promise<string | undefined>((done) => {
      this.queue.push({ event: toAuditEvent(record), record, done });
    });
    this.track(written);
    if (this.queue.length >= this.settings.maxBatch) this.drain();
    else this.timer ??= setTimeout(() => this.drain(), this.settings.batchDelayMs);
    return written;
  }

  async flush(): Promise<void> {
    this.drain();
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private drain(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length > 0) this.track(this.writeBatch(batch));
  }

  private async writeBatch(batch: Queued[]): Promise<void> {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: batch.map(({ event }) => ({ resource: event, request: { method: 'POST', url: 'AuditEvent' } })),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.store.transaction(bundle);
        batch.forEach((q, i) => q.done(response.entry?.[i]?.response?.location?.split('/')[1]));
        return;
      } catch (e) {
        // One event HAPI refuses (e.g. a reference to a patient it does not hold) fails the whole
        // transaction: write each on its own so the others are not held back by it.
        if (e instanceof AppError && e.status >= 400 && e.status < 500) {
          await Promise.all(batch.map(async (q) => q.done(await this.writeOne(q.event, q.record))));
          return;
        }
        if (attempt >= this.settings.attempts) {
          for (const q of batch) this.lost(q.record, e, attempt);
          batch.forEach((q) => q.done(undefined));
          return;
        }
        await new Promise((r) => setTimeout(r, this.settings.retryDelayMs * attempt));
      }
    }
  }

  private async writeOne(first: AuditEvent, record: AccessRecord): Promise<string | undefined> {
    let event = first;
    for (let attempt = 1; ; attempt++) {
      try {
        const written = await this.store.create(event, record.requestId ? { requestId: record.requestId } : {});
        return written.resource.id;
      } catch (e) {
        // A reference to something HAPI does not hold is refused (4xx): record it as a logical reference instead.
        if (e instanceof AppError && e.status >= 400 && e.status < 500 && event === first) {
          event = withLogicalReferences(first);
          continue;
        }
        if (attempt >= this.settings.attempts) {
          this.lost(record, e, attempt);
          return undefined;
        }
        await new Promise((r) => setTimeout(r, this.settings.retryDelayMs * attempt));
      }
    }
  }

  private lost(record: AccessRecord, e: unknown, attempts: number): void {
    log().error('audit event not written', {
      requestId: record.requestId,
      action: record.interaction,
      resource: record.resource,
      outcome: record.outcome,
      status: e instanceof AppError ? e.status : undefined,
      attempts,
    });
  }
}
