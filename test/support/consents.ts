import type { Consent } from 'fhir/r4.js';
import type { PhrConsent } from '../../src/domain/model.js';
import * as consent from '../../src/fhir/consent.js';

/** Patient p1's active consent to share with the PHR app `phr`, as FHIR, with any field changed. */
export function phrConsent(changes: Partial<PhrConsent> = {}): Consent {
  return consent.toFhir({
    id: 'c1',
    budgetHolderId: 'p1',
    recipient: 'phr',
    status: 'active',
    dateTime: '2026-01-01T00:00:00Z',
    ...changes,
  });
}
