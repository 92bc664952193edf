import type { AuditEvent } from 'fhir/r4.js';
import { log } from '../log/logger.js';
import { AppError } from '../outcome/errors.js';
import type { FhirStore } from '../store/fhirStore.js';
import { toAuditEvent, withLogicalReferences, type AccessRecord } from './auditEvent.js';

export interface AuditLogSettings {
  attempts: number;
  retryDelayMs: number;
}

/**
 * Writes AuditEvents to HAPI off the response path: the response does not wait for the write,
 * but every write is tracked, retried, and if it still fails an error is logged (ids only), so no
 * event is dropped silently. `flush()` waits for what is in flight (shutdown, tests).
 */
export class AuditLog {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly store: FhirStore, private readonly settings: AuditLogSettings = { attempts: 3, retryDelayMs: 250 }) {}

  /** Starts the write and returns at once; the promise (the stored id, or undefined if it failed) need not be awaited. */
  record(record: AccessRecord): Promise<string | undefined> {
    const write = this.write(toAuditEvent(record), record).finally(() => this.pending.delete(write));
    this.pending.add(write);
    return write;
  }

  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private async write(first: AuditEvent, record: AccessRecord): Promise<string | undefined> {
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
          log().error('audit event not written', {
            requestId: record.requestId,
            action: record.interaction,
            resource: record.resource,
            outcome: record.outcome,
            status: e instanceof AppError ? e.status : undefined,
            attempts: attempt,
          });
          return undefined;
        }
        await new Promise((r) => setTimeout(r, this.settings.retryDelayMs * attempt));
      }
    }
  }
}
