import winston from 'winston';
import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * JSON logs. Callers pass only operational facts (ids, statuses, durations, counts):
 * never names, NHS numbers, free text, tokens or request bodies.
 */
export const logger = winston.createLogger({
  level: 'info',
  format: winston.format.combine(
    winston.format.timestamp(),
    winston.format.errors({ stack: true }),
    winston.format.json(),
  ),
  defaultMeta: { service: 'phb-facade' },
  transports: [new winston.transports.Console()],
});

export function setLogLevel(level: string): void {
  logger.level = level;
}

export interface RequestContext {
  requestId: string;
  log: winston.Logger;
  /** Work the answer waits for (its AuditEvent made durable): the response ends only when all have settled. */
  beforeAnswer: (() => Promise<void>)[];
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The logger for the current request (carrying its request id), or the root logger outside one. */
export function log(): winston.Logger {
  return storage.getStore()?.log ?? logger;
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/**
 * Holds the current request's answer until `hook` has resolved (a rejection turns the answer into
 * a 503). Outside a request there is no answer to hold: a wiring bug.
 */
export function beforeAnswer(hook: () => Promise<void>): void {
  const context = storage.getStore();
  if (!context) throw new Error('beforeAnswer outside a request');
  context.beforeAnswer.push(hook);
}
