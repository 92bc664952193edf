import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'winston';

/**
 * The one per-request context (AsyncLocalStorage): everything a request carries from the moment
 * it arrives until its answer has left. It imports nothing of ours, so every layer may read it;
 * values whose types live higher up (the guard's access) are kept in slots their owner declares.
 */
export interface RequestContext {
  readonly requestId: string;
  /** The root logger's child carrying the request id. */
  readonly log: Logger;
  /** Work the answer waits for (its AuditEvent made durable): the response ends only when all have settled. */
  readonly beforeAnswer: (() => Promise<void>)[];
  /** Values handed from one part of the request to a later one, each under its owner's slot. */
  readonly slots: Map<RequestSlot<unknown>, unknown>;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** The current request's context; outside a request there is none to write to: a wiring bug. */
function requiredContext(what: string): RequestContext {
  const context = storage.getStore();
  if (!context) throw new Error(`${what} outside a request`);
  return context;
}

/**
 * Holds the current request's answer until `hook` has resolved (a rejection turns the answer into
 * a 503).
 */
export function beforeAnswer(hook: () => Promise<void>): void {
  requiredContext('beforeAnswer').beforeAnswer.push(hook);
}

/**
 * One typed value in the request context, declared by the module that owns its type (the guard's
 * access in src/auth/guard.ts): it lives and dies with the request, and only its owner can set it.
 */
export class RequestSlot<T> {
  constructor(private readonly name: string) {}

  set(value: T): void {
    requiredContext(this.name).slots.set(this, value);
  }

  get(): T | undefined {
    // Only `set` above writes under this slot, so what it holds is a T.
    return storage.getStore()?.slots.get(this) as T | undefined;
  }
}
