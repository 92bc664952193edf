import { DomainError } from '../errors.js';

// A full timestamp with its zone: turnaround is measured between instants, so a bare date or a
// local time without an offset would make the durations ambiguous.
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch for an ISO 8601 instant; `field` names it in the error. */
export function instantMs(value: unknown, field: string): number {
  const ms = typeof value === 'string' && INSTANT.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new DomainError(
      field,
      `${field} must be a date and time with a zone, e.g. 2026-01-05T10:00:00Z (got ${JSON.stringify(value)})`,
    );
  }
  return ms;
}
