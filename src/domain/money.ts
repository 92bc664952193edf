import { DomainError } from './errors.js';

/** Money is whole pence, always: never floating-point pounds. */
export type Pence = number;

export function isPence(value: unknown): value is Pence {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Checks an amount is whole, non-negative pence; `field` names it in the error. */
export function requirePence(value: unknown, field: string): Pence {
  if (!isPence(value) || value < 0) {
    throw new DomainError(
      field,
      `${field} must be a whole, non-negative number of pence (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

export function sumPence(amounts: readonly Pence[]): Pence {
  return amounts.reduce((total, a) => total + a, 0);
}

/** "£1,234.50" for people to read. */
export function formatPounds(pence: Pence): string {
  const sign = pence < 0 ? '-' : '';
  const abs = Math.abs(pence);
  const pounds = Math.trunc(abs / 100).toLocaleString('en-GB');
  return `${sign}£${pounds}.${String(abs % 100).padStart(2, '0')}`;
}

/** Exact conversion for FHIR Money (decimal pounds): 42000 -> 420 ; 25001 -> 250.01. */
export function penceToPounds(pence: Pence): number {
  return Number((pence / 100).toFixed(2));
}

/** Inverse of penceToPounds, refusing fractions of a penny. */
export function poundsToPence(pounds: number, field: string): Pence {
  const pence = Math.round(pounds * 100);
  if (!Number.isFinite(pounds) || Math.abs(pence - pounds * 100) > 1e-6) {
    throw new DomainError(field, `${field} must be pounds with at most two decimal places (got ${pounds})`);
  }
  return pence;
}
