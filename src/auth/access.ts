import type { Caller } from './caller.js';
import type { Interaction } from './scopes.js';

/**
 * One access to personal data, or one refusal, as an AuditEvent (the shape follows IHE Basic
 * Audit Log Patterns: who, which app, whose data, what, outcome, when, request id). It holds ids
 * and our own reason words only, never names or free text.
 */
export interface AccessRecord {
  /** Absent when the caller could not be authenticated. */
  caller?: Caller;
  resource: string;
  resourceId?: string;
  interaction: Interaction;
  patientId?: string;
  outcome: 'success' | 'denied' | 'failed';
  reason?: string;
  requestId?: string;
  time: string;
}

/** Where the guard records every access and refusal (src/audit/auditLog.ts); the answer waits for `durable`. */
export interface AccessAudit {
  record(record: AccessRecord): { durable: Promise<void> };
}
