import { DomainError } from './errors.js';

/** A 10-digit NHS number that passed the Modulus 11 check. */
export type NhsNumber = string & { readonly __brand: 'NhsNumber' };

/** The Modulus 11 check digit for the first nine digits, or undefined when no valid one exists. */
function checkDigit(nine: string): number | undefined {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(nine[i]) * (10 - i);
  const digit = 11 - (sum % 11);
  if (digit === 11) return 0;
  return digit === 10 ? undefined : digit;
}

export function isValidNhsNumber(value: string): boolean {
  return /^\d{10}$/.test(value) && checkDigit(value.slice(0, 9)) === Number(value[9]);
}

/**
 * Accepts "9990079196" or "999 007 9196"; refuses anything that fails the Modulus 11 check,
 * naming the field. The number itself is not repeated in the message, so it never reaches logs.
 */
export function parseNhsNumber(value: unknown, field = '/nhsNumber'): NhsNumber {
  const digits = typeof value === 'string' ? value.replace(/[\s-]/g, '') : '';
  if (!/^\d{10}$/.test(digits)) {
    throw new DomainError(field, `${field}: an NHS number has exactly 10 digits`);
  }
  if (!isValidNhsNumber(digits)) {
    throw new DomainError(field, `${field}: not a valid NHS number (the Modulus 11 check digit does not match)`);
  }
  return digits as NhsNumber;
}
