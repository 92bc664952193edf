import winston from 'winston';
import { currentContext } from '../context/requestContext.js';

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

/** The logger for the current request (carrying its request id), or the root logger outside one. */
export function log(): winston.Logger {
  return currentContext()?.log ?? logger;
}
