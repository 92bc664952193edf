import type { Basic, Extension } from 'fhir/r4.js';
import { SYSTEMS } from './common.js';

/**
 * The record of one Idempotency-Key, kept in HAPI as a Basic so every facade instance sees the
 * same one. Its identifier is the key's digest (created conditionally on it, so of several
 * simultaneous requests exactly one creates it); its extensions hold what the request asked
 * (a fingerprint of the body), how far it got, and which attempt holds it.
 *
 * | field       | FHIR path                                                          | type       |
 * |-------------|--------------------------------------------------------------------|------------|
 * | key         | Basic.identifier.where(system='.../Id/idempotency-record').value  | string     |
 * | kind        | Basic.code.coding.where(system='.../CodeSystem/phb-service-record').code = 'idempotency-key' | code |
 * | fingerprint | Basic.extension('.../phb-idempotency-fingerprint').valueString     | string     |
 * | state       | Basic.extension('.../phb-idempotency-state').valueCode             | code       |
 * | attempt     | Basic.extension('.../phb-idempotency-attempt').valueString         | string     |
 * | since       | Basic.meta.lastUpdated (set by the store)                          | instant    |
 *
 * No personal data: the key is a digest, the fingerprint a hash of the body.
 */
export const IDEMPOTENCY_RECORD_SYSTEM = SYSTEMS.identifier('idempotency-record');
const SERVICE_RECORD_SYSTEM = SYSTEMS.codeSystem('phb-service-record');

/**
 * `in-progress`: a request is executing under the key (or crashed doing so: see the lease);
 * `completed`: its write is stored (in the same transaction as this state);
 * `released`: it failed and wrote nothing, so the key is free again.
 */
export const KEY_STATES = ['in-progress', 'completed', 'released'] as const;
export type KeyState = (typeof KEY_STATES)[number];

export interface KeyRecord {
  /** The store's id (absent before the record is first written). */
  id?: string;
  key: string;
  fingerprint: string;
  state: KeyState;
  /** Which attempt holds the key: every take-over writes a new one, so HAPI makes a new version. */
  attempt: string;
  /** The store's version and time of the last change: the lease of an in-progress record runs from it. */
  version?: string;
  since?: string;
}

const url = (name: string): string => SYSTEMS.extension(`phb-idempotency-${name}`);
const valueOf = (extensions: Extension[] | undefined, name: string): string | undefined => {
  const e = extensions?.find((x) => x.url === url(name));
  return e?.valueString ?? e?.valueCode;
};

export function toFhir(record: KeyRecord): Basic {
  return {
    resourceType: 'Basic',
    ...(record.id !== undefined ? { id: record.id } : {}),
    identifier: [{ system: IDEMPOTENCY_RECORD_SYSTEM, value: record.key }],
    code: { coding: [{ system: SERVICE_RECORD_SYSTEM, code: 'idempotency-key', display: 'Idempotency-Key record' }] },
    extension: [
      { url: url('fingerprint'), valueString: record.fingerprint },
      { url: url('state'), valueCode: record.state },
      { url: url('attempt'), valueString: record.attempt },
    ],
  };
}

/** The record, or undefined when the Basic is not a well-formed key record (then nobody may rely on it). */
export function fromFhir(basic: Basic): KeyRecord | undefined {
  const key = basic.identifier?.find((i) => i.system === IDEMPOTENCY_RECORD_SYSTEM)?.value;
  const fingerprint = valueOf(basic.extension, 'fingerprint');
  const state = valueOf(basic.extension, 'state');
  const attempt = valueOf(basic.extension, 'attempt');
  if (
    key === undefined ||
    fingerprint === undefined ||
    attempt === undefined ||
    !KEY_STATES.includes(state as KeyState)
  )
    return undefined;
  return {
    ...(basic.id !== undefined ? { id: basic.id } : {}),
    key,
    fingerprint,
    state: state as KeyState,
    attempt,
    ...(basic.meta?.versionId !== undefined ? { version: basic.meta.versionId } : {}),
    ...(basic.meta?.lastUpdated !== undefined ? { since: basic.meta.lastUpdated } : {}),
  };
}

/** The If-None-Exist query that makes the first write of a key's record happen once. */
export function recordQuery(key: string): string {
  return `identifier=${encodeURIComponent(`${IDEMPOTENCY_RECORD_SYSTEM}|${key}`)}`;
}
