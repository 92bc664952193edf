import { createHash } from 'node:crypto';
import { isValidNhsNumber } from './nhsNumber.js';
import { isId } from './ids.js';

/**
 * Asking people to answer a questionnaire, as Patient Knows Best's $send-questionnaire-request
 * does: 1 to 500 targets, each a person by id or by NHS number; the same person named twice is
 * asked once; a target that cannot be used is reported, and the others are still asked.
 */
export const MAX_TARGETS = 500;

export type Target = { kind: 'id'; id: string } | { kind: 'nhs-number'; nhsNumber: string };

export interface TargetProblem {
  /** Position of the target among those given (0-based). */
  index: number;
  reason: string;
}

export function targetKey(t: Target): string {
  return t.kind === 'id' ? `id:${t.id}` : `nhs:${t.nhsNumber}`;
}

/** A target as given: a Patient id, or an NHS number (checked with Modulus 11). */
export function parseTarget(given: { patientId?: string; nhsNumber?: string }): Target | string {
  if (given.patientId !== undefined)
    return isId(given.patientId) ? { kind: 'id', id: given.patientId } : 'the Patient id is not a valid id';
  if (given.nhsNumber !== undefined) {
    const digits = given.nhsNumber.replace(/\s/g, '');
    return isValidNhsNumber(digits)
      ? { kind: 'nhs-number', nhsNumber: digits }
      : 'the NHS number is not valid (10 digits passing the Modulus 11 check)';
  }
  return 'the target must be a Patient reference or an NHS number identifier';
}

/** The distinct people to ask, in the order first named, and what was wrong with the rest. */
export function collapseTargets(given: readonly (Target | string)[]): {
  targets: { target: Target; index: number }[];
  problems: TargetProblem[];
} {
  const seen = new Set<string>();
  const targets: { target: Target; index: number }[] = [];
  const problems: TargetProblem[] = [];
  given.forEach((t, index) => {
    if (typeof t === 'string') {
      problems.push({ index, reason: t });
      return;
    }
    const key = targetKey(t);
    if (seen.has(key)) return;
    seen.add(key);
    targets.push({ target: t, index });
  });
  return { targets, problems };
}

/**
 * The key of one open request: the same questionnaire for the same person under the same client
 * key (PKB's additionalIdentifier, or an Idempotency-Key) is one request, so a retried call
 * finds the request it made instead of asking the person twice.
 */
export function requestKey(questionnaireId: string, patientId: string, clientKey = ''): string {
  return createHash('sha256')
    .update(JSON.stringify([questionnaireId, patientId, clientKey]))
    .digest('hex')
    .slice(0, 40);
}
