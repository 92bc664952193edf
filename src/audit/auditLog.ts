import { randomUUID } from 'node:crypto';
import type { AuditEvent, Bundle } from 'fhir/r4.js';
import { log } from '../log/logger.js';
import { AppError } from '../outcome/errors.js';
import type { FhirStore } from '../store/fhirStore.js';
import { toAuditEvent, withLogicalReferences, withReferenceBase, type AccessRecord } from './auditEvent.js';

export interface AuditLogSettings {
  attempts: number;
  retryDelayMs: number;
  /** Events gathered into one HAPI batch: one write per busy moment instead of one per request. */
  maxBatch: number;
  /** How long the first event waits for company when no write is under way. */
  batchDelayMs: number;
  /** Deadline of one group's write: off the response path, so it may wait for a busy server. */
  writeTimeoutMs: number;
  /**
   * Set when the audit repository is not the clinical FHIR store: it holds none of the records
   * an event names, so references are written as absolute URLs under this base (the facade's
   * public FHIR base), where they can be followed.
   */
  referenceBase?: string;
}

const DEFAULTS: AuditLogSettings = { attempts: 3, retryDelayMs: 250, maxBatch: 100, batchDelayMs: 50, writeTimeoutMs: 60000 };

interface Queued {
  event: AuditEvent;
  record: AccessRecord;
  /** Already rewritten with logical references after a refusal. */
  logical: boolean;
  done: (id: string | undefined) => void;
}

/**
 * Writes AuditEvents off the response path: the response does not wait, but every event is
 * tracked, written in groups, retried, and if it still fails an error is logged (ids only), so
 * no event is dropped silently. `flush()` waits for everything queued or in flight (shutdown,
 * tests).
 *
 * Into the clinical store a group is a `batch` Bundle: each event stands on its own, so one
 * refused event does not hold back the rest, and HAPI resolves each event's references by index
 * (a transaction resolves all of them in one query that H2 answers by scanning every resource).
 * Into a separate audit repository, whose references are URLs with nothing to resolve, a group
 * is one transaction: one commit for many events.
 */
export class AuditLog {
  private readonly settings: AuditLogSettings;
  private readonly pending = new Set<Promise<unknown>>();
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Writes under way. */
  private writing = 0;

  constructor(private readonly store: FhirStore, settings: Partial<AuditLogSettings> = {}) {
    this.settings = { ...DEFAULTS, ...settings };
  }

  /** Queues the event and returns at once; the promise (the stored id, or undefined if it failed) need not be awaited. */
  record(record: AccessRecord): Promise<string | undefined> {
    // The id is ours, so writing a group again after a lost answer stores each event once.
    const event: AuditEvent = { ...toAuditEvent(record), id: randomUUID() };
    const base = this.settings.referenceBase;
    const written = new Promise<string | undefined>((done) => {
      this.queue.push({ event: base ? withReferenceBase(event, base) : event, record, logical: false, done });
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
    // A full group goes at once, however many writes are under way, so a busy server never
    // builds a backlog; a partial group waits while another write is under way and gathers what
    // arrives meanwhile, so groups grow with the load and the cost per event falls.
    while (this.queue.length >= this.settings.maxBatch) this.write(this.queue.splice(0, this.settings.maxBatch));
    if (this.queue.length > 0 && this.writing === 0) this.write(this.queue.splice(0));
  }

  private write(group: Queued[]): void {
    this.writing++;
    this.track(this.writeBatch(group).finally(() => {
      this.writing--;
      this.drain();
    }));
  }

  private async writeBatch(batch: Queued[]): Promise<void> {
    let unwritten = batch;
    let atomic = this.settings.referenceBase !== undefined;
    for (let attempt = 1; unwritten.length > 0; attempt++) {
      let response: Bundle;
      try {
        response = await this.store.bulkWrite({
          resourceType: 'Bundle',
          type: atomic ? 'transaction' : 'batch',
          entry: unwritten.map(({ event }) => ({ resource: event, request: { method: 'PUT', url: `AuditEvent/${event.id ?? ''}` } })),
        }, { timeoutMs: this.settings.writeTimeoutMs });
      } catch (e) {
        // A refused transaction names no culprit: write the group again as a batch to learn which.
        if (atomic && e instanceof AppError && e.status >= 400 && e.status < 500) {
          atomic = false;
          attempt--;
          continue;
        }
        if (attempt >= this.settings.attempts) {
          for (const q of unwritten) this.lost(q, e instanceof AppError ? e.status : undefined, attempt);
          return;
        }
        await new Promise((r) => setTimeout(r, this.settings.retryDelayMs * attempt));
        continue;
      }
      const again: Queued[] = [];
      let transient = false;
      unwritten.forEach((q, i) => {
        const answer = response.entry?.[i]?.response;
        const status = Number.parseInt(answer?.status ?? '', 10);
        if (status >= 200 && status < 300) q.done(answer?.location?.split('/')[1]);
        // A reference to something HAPI does not hold is refused: record it as a logical reference instead.
        else if (status >= 400 && status < 500 && !q.logical) again.push({ ...q, event: withLogicalReferences(q.event), logical: true });
        else if ((Number.isNaN(status) || status >= 500) && attempt < this.settings.attempts) {
          again.push(q);
          transient = true;
        }
        else this.lost(q, Number.isNaN(status) ? undefined : status, attempt);
      });
      unwritten = again;
      if (transient) await new Promise((r) => setTimeout(r, this.settings.retryDelayMs * attempt));
    }
  }

  private lost({ record, done }: Queued, status: number | undefined, attempts: number): void {
    done(undefined);
    log().error('audit event not written', {
      requestId: record.requestId,
      action: record.interaction,
      resource: record.resource,
      outcome: record.outcome,
      status,
      attempts,
    });
  }
}
