import { canonicalJson, judgeKey, type KeyHolding } from '../../src/domain/idempotency.js';
import { requestFingerprint } from '../../src/api/idempotency.js';
import * as keyRecord from '../../src/fhir/idempotencyRecord.js';

describe('Idempotency-Key rules', () => {
  const at = (state: KeyHolding['state'], fingerprint = 'a', sinceMs = 1000): KeyHolding => ({
    state,
    fingerprint,
    sinceMs,
  });
  const LEASE = 30000;

  it('replays the same request once completed, refuses a different one, makes the others wait', () => {
    expect(judgeKey(at('completed'), 'a', 2000, LEASE)).toBe('replay');
    expect(judgeKey(at('completed'), 'b', 2000, LEASE)).toBe('different-request');
    expect(judgeKey(at('in-progress'), 'a', 2000, LEASE)).toBe('in-progress');
    expect(judgeKey(at('in-progress'), 'b', 2000, LEASE)).toBe('different-request');
  });

  it('frees a key whose request failed (any request may have it) or whose holder outlived the lease', () => {
    expect(judgeKey(at('released'), 'a', 2000, LEASE)).toBe('take-over');
    expect(judgeKey(at('released'), 'b', 2000, LEASE)).toBe('take-over');
    expect(judgeKey(at('in-progress'), 'a', 1000 + LEASE - 1, LEASE)).toBe('in-progress');
    expect(judgeKey(at('in-progress'), 'a', 1000 + LEASE, LEASE)).toBe('take-over');
    // A holder known to have stopped (its request ended without knowing its outcome) frees the key at once.
    expect(judgeKey({ ...at('in-progress'), holderGone: true }, 'a', 2000, LEASE)).toBe('take-over');
    expect(judgeKey({ ...at('in-progress'), holderGone: true }, 'b', 2000, LEASE)).toBe('different-request');
  });

  it('fingerprints ignore key order and undefined fields, and see every value and the precondition', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null }, u: undefined })).toBe(
      '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}',
    );
    expect(requestFingerprint({ a: 1, b: 2 }, undefined)).toBe(requestFingerprint({ b: 2, a: 1 }, undefined));
    expect(requestFingerprint({ a: 1 }, undefined)).not.toBe(requestFingerprint({ a: 2 }, undefined));
    expect(requestFingerprint({ a: 1 }, '1')).not.toBe(requestFingerprint({ a: 1 }, '2'));
    expect(requestFingerprint([null, null], undefined)).not.toBe(requestFingerprint(null, undefined));
  });

  it('the key record reads back as written, and a malformed one reads as nothing', () => {
    const record: keyRecord.KeyRecord = {
      id: 'b1',
      key: 'digest',
      fingerprint: 'fp',
      state: 'in-progress',
      attempt: 'att',
    };
    const basic = {
      ...keyRecord.toFhir(record),
      meta: { versionId: '3', lastUpdated: '2026-12-04T10:00:00.000+00:00' },
    };
    expect(keyRecord.fromFhir(basic)).toEqual({ ...record, version: '3', since: '2026-12-04T10:00:00.000+00:00' });
    expect(keyRecord.fromFhir({ ...basic, extension: [] })).toBeUndefined();
    expect(keyRecord.recordQuery('d')).toBe(
      `identifier=${encodeURIComponent(`${keyRecord.IDEMPOTENCY_RECORD_SYSTEM}|d`)}`,
    );
  });
});
