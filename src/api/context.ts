import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { logger, runWithContext } from '../log/logger.js';

/** A caller's request id is kept only when it is a plain token, so it cannot smuggle data into logs. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** Gives every request an id, a child logger carrying it, and one access-log line when it ends. */
export function requestContext(req: Request, res: Response, next: NextFunction): void {
  const offered = req.get('x-request-id');
  const requestId = offered && SAFE_REQUEST_ID.test(offered) ? offered : randomUUID();
  const child = logger.child({ requestId });
  const started = process.hrtime.bigint();
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
  runWithContext({ requestId, log: child }, next);
}
