import type { PhrConsent } from './model.js';

/** A sharing decision as stored, with when it was recorded: the tie-break for two decisions made at the same moment. */
export interface RecordedConsent {
  consent: PhrConsent;
  recordedAt?: string;
}

/**
 * The decision that governs sharing one person's PHB with one recipient: the one they made last (by its
 * dateTime), and of decisions made at the same moment the one recorded last. Each decision is kept as its
 * own record, so earlier ones stay as history and never grant anything once a later one exists.
 */
export function governingConsent(
  decisions: readonly RecordedConsent[],
  budgetHolderId: string,
  recipient: string,
): PhrConsent | undefined {
  let latest: RecordedConsent | undefined;
  for (const d of decisions) {
    if (d.consent.budgetHolderId !== budgetHolderId || d.consent.recipient !== recipient) continue;
    if (!latest || isLater(d, latest)) latest = d;
  }
  return latest?.consent;
}

/** Sharing is allowed while the governing decision is a yes. */
export function sharingAllowed(
  decisions: readonly RecordedConsent[],
  budgetHolderId: string,
  recipient: string,
): boolean {
  return governingConsent(decisions, budgetHolderId, recipient)?.status === 'active';
}

function isLater(a: RecordedConsent, b: RecordedConsent): boolean {
  const made = instant(a.consent.dateTime) - instant(b.consent.dateTime);
  if (made !== 0) return made > 0;
  return instant(a.recordedAt) > instant(b.recordedAt);
}

/** Milliseconds since the epoch; a missing or unreadable time sorts first. */
function instant(value: string | undefined): number {
  const ms = value === undefined ? NaN : Date.parse(value);
  return Number.isNaN(ms) ? -Infinity : ms;
}
