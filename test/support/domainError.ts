import { DomainError } from '../../src/domain/errors.js';

/** The DomainError a call throws; fails the test when it throws nothing or something else. */
export function domainError(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a DomainError');
}
