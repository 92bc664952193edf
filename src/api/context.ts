import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { logger, runWithContext, type RequestContext } from '../log/logger.js';
import { unavailable } from '../outcome/errors.js';
import { fhirErrorHandler, problemErrorHandler } from './render.js';

/** A caller's request id is kept only when it is a plain token, so it cannot smuggle data into logs. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * Gives every request an id, a child logger carrying it, one access-log line when it ends, and
 * the one barrier before the answer: `res.end` (which res.send and res.json end in) waits for the
 * context's `beforeAnswer` hooks, so no answer leaves before its AuditEvent is durable.
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
    const context: RequestContext = { requestId, log: child, beforeAnswer: [] };
    holdAnswer(req, res, context, options.retryAfterSeconds, everyAnswer);
    runWithContext(context, next);
  };
}

function holdAnswer(
  req: Request,
  res: Response,
  context: RequestContext,
  retryAfterSeconds: number,
  everyAnswer: ReadonlySet<string>,
): void {
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  let held = false;
  res.end = ((...args: unknown[]): Response => {
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
        // Headers already sent (a streamed answer): cutting the connection is all that is left.
        if (res.headersSent) {
          res.destroy();
          return;
        }
        for (const name of res.getHeaderNames()) if (!everyAnswer.has(name)) res.removeHeader(name);
        const refused = unavailable('The audit trail cannot be written just now; try again later', retryAfterSeconds);
        runWithContext(context, () => {
          (req.originalUrl.startsWith('/fhir') ? fhirErrorHandler : problemErrorHandler)(
            refused,
            req,
            res,
            () => undefined,
          );
        });
      },
    );
    return res;
  }) as Response['end'];
}
