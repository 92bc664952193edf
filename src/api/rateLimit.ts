import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Caller } from '../auth/caller.js';
import { tooManyRequests } from '../outcome/errors.js';

/** `limit` requests per `windowMs` for each key; a limit of 0 turns the limiter off. */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** The limits one facade applies (RATE_LIMIT_*): per client address before authentication, per caller after it. */
export interface RateLimits {
  windowMs: number;
  perAddress: number;
  perCaller: number;
}

export type Admission = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (a monotonic clock, ms). */
  at: number;
}

/** Enough for every address and caller a busy facade sees within a window, at about 100 bytes each. */
const DEFAULT_MAX_KEYS = 100000;

/**
 * A token bucket per key, in this process's memory: a key may spend up to `limit` requests at once,
 * and its bucket refills evenly over `windowMs` (one request every windowMs / limit). Memory stays
 * bounded: a bucket untouched for a whole window is full again, so dropping it loses nothing, and
 * past `maxKeys` the least recently used key goes first.
 */
export class RateLimiter {
  /** Insertion order is last-use order: every take moves its key to the end. */
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(
    private readonly settings: RateLimit,
    options: { maxKeys?: number; now?: () => number } = {},
  ) {
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.now = options.now ?? (() => performance.now());
  }

  get enabled(): boolean {
    return this.settings.limit > 0;
  }

  /** Keys held now (for tests and capacity checks). */
  get size(): number {
    return this.buckets.size;
  }

  /** Spends one request of `key`'s allowance, or says how many seconds until one is back. */
  take(key: string): Admission {
    if (!this.enabled) return { allowed: true };
    const { limit, windowMs } = this.settings;
    const now = this.now();
    this.evictIdle(now);
    const perMs = limit / windowMs;
    const held = this.buckets.get(key);
    const bucket: Bucket = held
      ? { tokens: Math.min(limit, held.tokens + (now - held.at) * perMs), at: now }
      : { tokens: limit, at: now };
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    while (this.buckets.size > this.maxKeys) this.dropOldest();
    if (allowed) return { allowed: true };
    const waitMs = (1 - bucket.tokens) / perMs;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  /** The oldest keys come first, so this stops at the first bucket still in use. */
  private evictIdle(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.at < this.settings.windowMs) return;
      this.buckets.delete(key);
    }
  }

  private dropOldest(): void {
    const oldest = this.buckets.keys().next();
    if (!oldest.done) this.buckets.delete(oldest.value);
  }
}

/**
 * Before authentication: every request but the probes counts against the address Express reports
 * (the socket's peer, or what `trust proxy` lets it read from X-Forwarded-For). The refusal goes
 * to the error renderer of the face the request is on.
 */
export function addressLimit(limiter: RateLimiter): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!limiter.enabled) return next();
    const admission = limiter.take(req.ip ?? req.socket.remoteAddress ?? 'unknown');
    if (admission.allowed) return next();
    next(
      tooManyRequests(
        `Too many requests from this address: try again in ${admission.retryAfterSeconds} s`,
        admission.retryAfterSeconds,
      ),
    );
  };
}

/**
 * After the token is verified, so a forged token cannot spend someone else's allowance: one bucket
 * per person or system at their issuer, in the app they use. Throws the 429 for the guard to audit.
 */
export function callerLimit(limiter: RateLimiter): (caller: Caller) => void {
  return (caller) => {
    if (!limiter.enabled) return;
    const admission = limiter.take(JSON.stringify([caller.issuer, caller.clientId, caller.subject]));
    if (admission.allowed) return;
    throw tooManyRequests(
      `Too many requests from this caller: try again in ${admission.retryAfterSeconds} s`,
      admission.retryAfterSeconds,
    );
  };
}
