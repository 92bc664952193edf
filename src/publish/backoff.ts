/**
 * Exponential backoff with jitter: attempt 1 waits about `base`, each later one about twice
 * as long, never more than `max`. Half the wait is fixed and half random ("equal jitter"), so
 * instances retrying against the same destination spread out but none retries at once.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
