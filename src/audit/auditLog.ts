import { randomUUID } from 'node:crypto';
import type { AuditEvent, Bundle } from 'fhir/r4.js';
import { log } from '../log/logger.js';
import { AppError } from '../outcome/errors.js';
import type { FhirStore } from '../store/fhirStore.js';
import type { AccessRecord } from '../auth/access.js';
import { requestIdOf, toAuditEvent, withLogicalReferences, withReferenceBase } from './auditEvent.js';
import { AuditSpool, type Segment } from './spool.js';

export interface AuditLogSettings {
  attempts: number;
  retryDelayMs: number;
  /** How long events given up for now (repository unreachable) wait in the spool before they are sent again. */
  redeliverDelayMs: number;
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
  /** The local spool every event is made durable in before its answer leaves (one directory per live AuditLog). */
  spoolDir: string;
  /** Size and age at which a spool segment is closed (and deleted once all its events are stored). */
  segmentBytes: number;
  segmentMaxAgeMs: number;
}

const DEFAULTS: Omit<AuditLogSettings, 'spoolDir'> = {
  attempts: 3,
  retryDelayMs: 250,
  redeliverDelayMs: 30000,
  maxBatch: 100,
  batchDelayMs: 50,
  writeTimeoutMs: 60000,
  segmentBytes: 4 * 1024 * 1024,
  segmentMaxAgeMs: 10000,
};

/** An event recorded: `durable` once it is in the spool (the answer waits for it), `stored` with its id once in the audit repository. */
export interface Recorded {
  durable: Promise<void>;
  stored: Promise<string | undefined>;
}

/** Why an event the spool could not take is still sent to the repository, marked failed: its answer becomes a 503. */
export const SPOOL_FAILED = 'The audit spool could not be written';

interface Queued {
  event: AuditEvent;
  /** The spool segment holding it; none when the spool could not take it. */
  segment: Segment | undefined;
  /** Already rewritten with logical references after a refusal. */
  logical: boolean;
  done: (id: string | undefined) => void;
}

/**
 * Makes each AuditEvent durable in a local spool (src/audit/spool.ts) before its answer may
 * leave, then writes it to the audit repository off the response path: in groups, retried, and
 * if it still fails an error is logged (ids only). A spooled event's segment is deleted only once
 * every event in it is stored, so what a crash or an unreachable repository leaves behind is
 * delivered by the next AuditLog on the same spool directory (ids are ours and events are PUT, so
 * nothing is stored twice). `flush()` waits for everything queued or in flight (shutdown, tests);
 * `close()` flushes and releases the spool.
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
  /** Events the repository could not take: still in the spool, sent again after `redeliverDelayMs`. */
  private kept: Queued[] = [];
  private redeliverTimer: NodeJS.Timeout | undefined;
  /** Writes under way. */
  private writing = 0;

  private readonly spool: AuditSpool;

  /** Takes the spool directory (a SpoolLockedError when another live process has it) and delivers what it holds. */
  constructor(
    private readonly store: FhirStore,
    settings: Partial<AuditLogSettings> & Pick<AuditLogSettings, 'spoolDir'>,
  ) {
    this.settings = { ...DEFAULTS, ...settings };
    const { spool, leftovers } = AuditSpool.open({
      dir: this.settings.spoolDir,
      segmentBytes: this.settings.segmentBytes,
      segmentMaxAgeMs: this.settings.segmentMaxAgeMs,
    });
    this.spool = spool;
    for (const { segment, events } of leftovers) for (const event of events) this.track(this.enqueue(event, segment));
    if (leftovers.length) {
      log().info('audit spool leftovers being delivered', {
        dir: this.settings.spoolDir,
        segments: leftovers.length,
        events: leftovers.reduce((n, l) => n + l.events.length, 0),
      });
    }
  }

  /** Spools the event, then queues it for the repository; the caller's answer waits for `durable`. */
  record(record: AccessRecord): Recorded {
    // The id is ours, so writing a group again after a lost answer or a restart stores each event once.
    const id = randomUUID();
    const event = this.eventOf(record, id);
    const appended = this.spool.append(event);
    const stored = appended.then(
      (segment) => this.enqueue(event, segment),
      // Not durable: its answer becomes a 503, so the event sent (as well as can be) says so.
      () => this.enqueue(this.eventOf({ ...record, outcome: 'failed', reason: SPOOL_FAILED }, id), undefined),
    );
    this.track(stored);
    const durable = appended.then(() => undefined);
    // The caller awaits it; a rejection nobody awaits must not end the process.
    void durable.catch(() => undefined);
    return { durable, stored };
  }

  async flush(): Promise<void> {
    do {
      this.drain();
      await Promise.all([...this.pending]);
    } while (this.pending.size || this.queue.length);
  }

  /** Flushes, then closes the spool: segments whose events are all stored are deleted, the lock released. */
  async close(): Promise<void> {
    clearTimeout(this.redeliverTimer);
    this.redeliverTimer = undefined;
    await this.flush();
    await this.spool.close();
  }

  private eventOf(record: AccessRecord, id: string): AuditEvent {
    const event: AuditEvent = { ...toAuditEvent(record), id };
    const base = this.settings.referenceBase;
    return base ? withReferenceBase(event, base) : event;
  }

  private enqueue(event: AuditEvent, segment: Segment | undefined): Promise<string | undefined> {
    const written = new Promise<string | undefined>((done) => {
      this.queue.push({ event, segment, logical: false, done });
    });
    if (this.queue.length >= this.settings.maxBatch) this.drain();
    else this.timer ??= setTimeout(() => this.drain(), this.settings.batchDelayMs);
    return written;
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
    this.track(
      this.writeBatch(group).finally(() => {
        this.writing--;
        this.drain();
      }),
    );
  }

  private async writeBatch(batch: Queued[]): Promise<void> {
    let unwritten = batch;
    let atomic = this.settings.referenceBase !== undefined;
    for (let attempt = 1; unwritten.length > 0; attempt++) {
      let response: Bundle;
      try {
        response = await this.store.bulkWrite(
          {
            resourceType: 'Bundle',
            type: atomic ? 'transaction' : 'batch',
            entry: unwritten.map(({ event }) => ({
              resource: event,
              request: { method: 'PUT', url: `AuditEvent/${event.id ?? ''}` },
            })),
          },
          { timeoutMs: this.settings.writeTimeoutMs },
        );
      } catch (e) {
        // A refused transaction names no culprit: write the group again as a batch to learn which.
        if (atomic && e instanceof AppError && e.status >= 400 && e.status < 500) {
          atomic = false;
          attempt--;
          continue;
        }
        if (attempt >= this.settings.attempts) {
          const status = e instanceof AppError ? e.status : undefined;
          for (const q of unwritten) this.lost(q, status, attempt);
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
        if (status >= 200 && status < 300) this.stored(q, answer?.location?.split('/')[1]);
        // A reference to something HAPI does not hold is refused: record it as a logical reference instead.
        else if (status >= 400 && status < 500 && !q.logical)
          again.push({ ...q, event: withLogicalReferences(q.event), logical: true });
        else if ((Number.isNaN(status) || status >= 500) && attempt < this.settings.attempts) {
          again.push(q);
          transient = true;
        } else this.lost(q, Number.isNaN(status) ? undefined : status, attempt);
      });
      unwritten = again;
      if (transient) await new Promise((r) => setTimeout(r, this.settings.retryDelayMs * attempt));
    }
  }

  private keep(q: Queued): void {
    this.kept.push(q);
    this.redeliverTimer ??= setTimeout(() => {
      this.redeliverTimer = undefined;
      for (const { event, segment } of this.kept.splice(0)) this.track(this.enqueue(event, segment));
    }, this.settings.redeliverDelayMs);
    // Waiting to send again must not keep a stopping process alive: the spool has the events.
    this.redeliverTimer.unref();
  }

  private stored(q: Queued, id: string | undefined): void {
    if (q.segment) this.spool.confirm(q.segment);
    q.done(id);
  }

  /**
   * Given up for now. An event the repository refused (4xx) is given up for good, since sending
   * it again cannot help; one it could not take (unreachable, 5xx) stays in the spool, sent again
   * later and, should the process end first, by the next start.
   */
  private lost(q: Queued, status: number | undefined, attempts: number): void {
    const refused = status !== undefined && status >= 400 && status < 500;
    if (refused && q.segment) this.spool.confirm(q.segment);
    q.done(undefined);
    if (!refused && q.segment) this.keep(q);
    log().error('audit event not written', {
      auditEventId: q.event.id,
      requestId: requestIdOf(q.event),
      action: q.event.action,
      outcome: q.event.outcome,
      status,
      attempts,
      keptInSpool: !refused && q.segment !== undefined,
    });
  }
}
