import { governingConsent, sharingAllowed, type RecordedConsent } from '../../src/domain/consent.js';
import type { PhrConsent } from '../../src/domain/model.js';

const decision = (
  id: string,
  status: PhrConsent['status'],
  dateTime: string,
  recordedAt?: string,
  recipient = 'patient-knows-best',
): RecordedConsent => ({ consent: { id, budgetHolderId: 'p1', recipient, status, dateTime }, recordedAt });

describe("the person's latest sharing decision governs", () => {
  it('a later withdrawal outranks an earlier yes, whatever order they are listed in', () => {
    const yes = decision('a', 'active', '2026-01-05T10:00:00Z');
    const no = decision('b', 'inactive', '2026-02-01T09:00:00Z');
    for (const list of [
      [yes, no],
      [no, yes],
    ]) {
      expect(governingConsent(list, 'p1', 'patient-knows-best')?.id).toBe('b');
      expect(sharingAllowed(list, 'p1', 'patient-knows-best')).toBe(false);
    }
  });

  it('a new yes after a withdrawal shares again', () => {
    const list = [
      decision('a', 'active', '2026-01-05'),
      decision('b', 'inactive', '2026-02-01'),
      decision('c', 'active', '2026-03-01T00:00:00+01:00'),
    ];
    expect(sharingAllowed(list, 'p1', 'patient-knows-best')).toBe(true);
  });

  it('compares instants, not strings, across time zones', () => {
    // 10:30+02:00 is 08:30Z: earlier than 09:00Z although it sorts later as text.
    const list = [
      decision('a', 'inactive', '2026-02-01T09:00:00Z'),
      decision('b', 'active', '2026-02-01T10:30:00+02:00'),
    ];
    expect(governingConsent(list, 'p1', 'patient-knows-best')?.id).toBe('a');
  });

  it('of decisions made at the same moment, the one recorded last governs', () => {
    const list = [
      decision('a', 'inactive', '2026-02-01', '2026-02-01T12:00:05Z'),
      decision('b', 'active', '2026-02-01', '2026-02-01T12:00:01Z'),
    ];
    expect(governingConsent(list, 'p1', 'patient-knows-best')?.id).toBe('a');
  });

  it("only the person's own decisions for that recipient count", () => {
    const list = [
      decision('a', 'active', '2026-01-01', undefined, 'another-app'),
      decision('b', 'rejected', '2025-01-01'),
    ];
    expect(sharingAllowed(list, 'p1', 'another-app')).toBe(true);
    expect(sharingAllowed(list, 'p1', 'patient-knows-best')).toBe(false);
    expect(sharingAllowed(list, 'p2', 'another-app')).toBe(false);
    expect(governingConsent([], 'p1', 'patient-knows-best')).toBeUndefined();
  });
});
