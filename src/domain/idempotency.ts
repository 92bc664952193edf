/**
 * What a request may do under an Idempotency-Key that already has a record (the IETF
 * Idempotency-Key draft's rules): the same request again gets the first one's result, a
 * different request under the same key is refused, and while the first is still executing the
 * others wait. A record whose request failed (and wrote nothing) or whose holder has not
 * finished within the lease frees the key for the next attempt.
 */
export type KeyVerdict =
  /** The earlier request completed: answer with its result. */
  | 'replay'
  /** The earlier request used this key for something else. */
  | 'different-request'
  /** The earlier request is still executing: try again shortly. */
  | 'in-progress'
  /** Nobody holds the key any more: take it over and execute. */
  | 'take-over';

export interface KeyHolding {
  state: 'in-progress' | 'completed' | 'released';
  fingerprint: string;
  /** When the holder took the key (ms since the epoch). */
  sinceMs: number;
  /** The holder is known to have stopped without knowing its outcome (its request ended, e.g. with 503). */
  holderGone?: boolean;
}

export function judgeKey(holding: KeyHolding, fingerprint: string, nowMs: number, leaseMs: number): KeyVerdict {
  // A released key wrote nothing: whatever the next request is, it may have the key.
  if (holding.state === 'released') return 'take-over';
  if (holding.fingerprint !== fingerprint) return 'different-request';
  if (holding.state === 'completed') return 'replay';
  // A holder that stopped, or crashed and never finishes (after the lease), frees the key: the
  // take-over is conditional on the version the holder writes at its end, so both can never write.
  return holding.holderGone === true || nowMs - holding.sinceMs >= leaseMs ? 'take-over' : 'in-progress';
}

/** A stable text of a JSON value (object keys sorted) for fingerprinting a request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
