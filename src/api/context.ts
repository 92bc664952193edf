import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { unsettledConsentRefusal } from '../auth/guard.js';
import { runWithContext, type RequestContext } from '../context/requestContext.js';
import { logger } from '../log/logger.js';
import { unavailable, type AppError } from '../outcome/errors.js';
import { fhirErrorHandler, problemErrorHandler } from './render.js';

/** A caller's request id is kept only when it is a plain token, so it cannot smuggle data into logs. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * Starts the request context (src/context/requestContext.ts) for every request: an id, a child
 * logger carrying it, one access-log line when it ends, and the one barrier before the answer.
 */
export function requestContext(options: { retryAfterSeconds: number }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const offered = req.get('x-request-id');
    const requestId = offered && SAFE_REQUEST_ID.test(offered) ? offered : randomUUID();
    const child = logger.child({ requestId });
    const started = process.hrtime.bigint();
    // Headers set before the context (the security headers) belong to every answer, a withheld one too.
    const everyAnswer = new Set([...res.getHeaderNames(), 'x-request-id']);
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      // Path only: query strings can carry identifiers such as NHS numbers.
      child.info('request', {
        method: req.method,
        path: req.baseUrl + req.path,
        status: res.statusCode,
        durationMs: Number((process.hrtime.bigint() - started) / 1000000n),
      });
    });
    const context: RequestContext = { requestId, log: child, beforeAnswer: [], slots: new Map() };
    holdAnswer(req, res, context, options.retryAfterSeconds, everyAnswer);
    runWithContext(context, next);
  };
}

/**
 * The barrier: `res.end`, which every answer ends in (res.send and res.json included), is the
 * one place an answer is checked before it leaves. A successful answer the guard's unsettled
 * consent check forbids is replaced by a 500; every answer then waits for the context's
 * `beforeAnswer` hooks, so none leaves before its AuditEvent is durable (else it becomes a 503).
 */
function holdAnswer(
  req: Request,
  res: Response,
  context: RequestContext,
  retryAfterSeconds: number,
  everyAnswer: ReadonlySet<string>,
): void {
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  let checked = false;
  let held = false;

  /** Answers `error` in place of what was about to be sent, in the request's face format. */
  const replace = (error: AppError): void => {
    // Headers already sent (a streamed answer): cutting the connection is all that is left.
    if (res.headersSent) {
      res.destroy();
      return;
    }
    for (const name of res.getHeaderNames()) if (!everyAnswer.has(name)) res.removeHeader(name);
    runWithContext(context, () => {
      (req.originalUrl.startsWith('/fhir') ? fhirErrorHandler : problemErrorHandler)(error, req, res, () => undefined);
    });
  };

  res.end = ((...args: unknown[]): Response => {
    if (!checked) {
      checked = true;
      const refused = runWithContext(context, () => unsettledConsentRefusal(res.statusCode));
      if (refused) {
        // The refusal's own answer comes back through here, to wait for the audit like any other.
        replace(refused);
        return res;
      }
    }
    if (held || context.beforeAnswer.length === 0) return end(...args);
    held = true;
    const status = res.statusCode;
    // async: a hook that throws withholds the answer like one that rejects.
    void Promise.all(context.beforeAnswer.map(async (hook) => hook())).then(
      () => end(...args),
      (e: unknown) => {
        context.log.error('answer withheld: its audit could not be made durable', {
          status,
          error: e instanceof Error ? e.message : String(e),
        });
        replace(unavailable('The audit trail cannot be written just now; try again later', retryAfterSeconds));
      },
    );
    return res;
  }) as Response['end'];
}
