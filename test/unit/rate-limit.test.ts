import { RateLimiter } from '../../src/api/rateLimit.js';

/** A clock the test moves by hand. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('rate limiter (token bucket per key)', () => {
  it('lets a key spend its whole allowance at once, then refuses it with the seconds until one request is back', () => {
    const c = clock();
    const limiter = new RateLimiter({ limit: 3, windowMs: 60000 }, { now: c.now });
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true]);
    // One request comes back every 60000 / 3 = 20 s.
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 20 });
    c.advance(5500);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 15 });
    // Other keys are unaffected.
    expect(limiter.take('b').allowed).toBe(true);
  });

  it('refills evenly over the window and never above the limit', () => {
    const c = clock();
    const limiter = new RateLimiter({ limit: 4, windowMs: 4000 }, { now: c.now });
    for (let i = 0; i < 4; i++) expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    c.advance(1000);
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    // A long pause gives back the whole allowance, not more.
    c.advance(3_600_000);
    for (let i = 0; i < 4; i++) expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('never answers Retry-After below one second, rounding up', () => {
    const c = clock();
    const limiter = new RateLimiter({ limit: 10, windowMs: 1000 }, { now: c.now });
    for (let i = 0; i < 10; i++) limiter.take('a');
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    const slow = new RateLimiter({ limit: 2, windowMs: 5000 }, { now: c.now });
    slow.take('a');
    slow.take('a');
    c.advance(100);
    // 2.5 s per request, 0.1 s of it gone: 2.4 s, so 3.
    expect(slow.take('a')).toEqual({ allowed: false, retryAfterSeconds: 3 });
  });

  it('drops keys idle for a whole window (their bucket is full again), so memory follows current callers', () => {
    const c = clock();
    const limiter = new RateLimiter({ limit: 2, windowMs: 1000 }, { now: c.now });
    for (let i = 0; i < 50; i++) limiter.take(`idle-${i}`);
    expect(limiter.size).toBe(50);
    c.advance(600);
    limiter.take('busy');
    limiter.take('busy');
    c.advance(400);
    // The 50 idle keys are a window old; 'busy' is not, and keeps its spent allowance.
    expect(limiter.take('busy').allowed).toBe(false);
    expect(limiter.size).toBe(1);
  });

  it('keeps at most maxKeys, dropping the least recently used first', () => {
    const c = clock();
    const limiter = new RateLimiter({ limit: 1, windowMs: 60000 }, { now: c.now, maxKeys: 3 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('c');
    c.advance(1);
    expect(limiter.take('a').allowed).toBe(false); // 'a' is now the most recent
    limiter.take('d'); // drops 'b', the least recently used
    expect(limiter.size).toBe(3);
    expect(limiter.take('b').allowed).toBe(true); // a new, full bucket (and 'c' goes)
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('is off with a limit of 0: everything passes and nothing is kept', () => {
    const limiter = new RateLimiter({ limit: 0, windowMs: 60000 });
    expect(limiter.enabled).toBe(false);
    for (let i = 0; i < 1000; i++) expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.size).toBe(0);
  });
});
