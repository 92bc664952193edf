import { createHash } from 'node:crypto';
import type { Basic, Extension, OperationOutcome } from 'fhir/r4.js';
import { SYSTEMS } from '../fhir/common.js';

/**
 * The publisher's own state, kept in HAPI so a restart (or another facade instance) carries on
 * where the last one stopped: one cursor per destination and one dead letter per change that
 * could not be delivered. Both are Basic resources; the publisher reads only the history of
 * the kinds it publishes, so its own writes never feed back into the change feed.
 */

export const PUBLISHING_SYSTEM = SYSTEMS.codeSystem('phb-publishing');
export const DEAD_LETTER_STATUS_SYSTEM = SYSTEMS.codeSystem('phb-dead-letter-status');
export const DESTINATION_SYSTEM = SYSTEMS.identifier('delivery-destination');
export const DEAD_LETTER_SYSTEM = SYSTEMS.identifier('dead-letter');

export interface CursorState {
  destination: string;
  /** `meta.lastUpdated` of the last change handled; absent = from the destination's start. */
  since?: string;
  /** Changes handled that were written at exactly `since` (`_since` is inclusive). */
  seen: string[];
  /** Deletes handled lately (HAPI's history gives a delete no time, so `seen` cannot cover them). */
  deletes: string[];
  /** The change being retried, its failed attempts and when to try again. */
  head?: string;
  attempts: number;
  retryAt?: string;
  /** Since when the destination has been unreachable (absent when it answers). */
  unavailableSince?: string;
  unavailableAttempts: number;
  lastError?: string;
  /** The oldest change ready to deliver but not yet delivered, at the last check: the lag. */
  pendingSince?: string;
  checkedAt?: string;
  lease?: { owner: string; until: string };
  counts: DeliveryCounts;
}

export interface DeliveryCounts {
  /** Changes delivered (each may be several writes). */
  delivered: number;
  /** Changes that concern this destination not at all (no consent, another practice, another kind). */
  skipped: number;
  deadLettered: number;
  /** Failed attempts that were tried again later. */
  retried: number;
  replayed: number;
  /** Writes (PUT or DELETE) the destination accepted. */
  writes: number;
}

export const NO_COUNTS: DeliveryCounts = {
  delivered: 0,
  skipped: 0,
  deadLettered: 0,
  retried: 0,
  replayed: 0,
  writes: 0,
};

export const DEAD_LETTER_STATUSES = ['open', 'replay-requested', 'replayed'] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

export interface DeadLetter {
  id: string;
  destination: string;
  /** The change: `Type/id/_history/version` in our store. */
  change: string;
  /** Refused by the destination, out of attempts, or not publishable as it stands (e.g. no NHS number). */
  reason: 'rejected' | 'exhausted' | 'unprocessable';
  status: DeadLetterStatus;
  attempts: number;
  httpStatus?: number;
  /** Our words (method, path without query, status); the destination's own words are in `outcome`. */
  message: string;
  outcome?: OperationOutcome;
  created: string;
  updated: string;
  versionId?: string;
}

export function cursorId(destination: string): string {
  return `phb-publish-cursor-${destination}`;
}

/** One dead letter per destination and change: a second failure of the same change updates it. */
export function deadLetterId(destination: string, change: string): string {
  return `phb-dl-${createHash('sha256').update(`${destination}|${change}`).digest('hex').slice(0, 40)}`;
}

const url = (name: string): string => SYSTEMS.extension(`phb-delivery-${name}`);
const ext = (name: string, value: Omit<Extension, 'url'>): Extension => ({ url: url(name), ...value });
const find = (extensions: Extension[] | undefined, name: string): Extension[] =>
  (extensions ?? []).filter((e) => e.url === url(name));
const text = (extensions: Extension[] | undefined, name: string): string | undefined => {
  const e = find(extensions, name)[0];
  return e?.valueString ?? e?.valueInstant ?? e?.valueCode ?? e?.valueDateTime;
};
const int = (extensions: Extension[] | undefined, name: string): number => find(extensions, name)[0]?.valueInteger ?? 0;

const COUNT_NAMES: (keyof DeliveryCounts)[] = ['delivered', 'skipped', 'deadLettered', 'retried', 'replayed', 'writes'];

export function cursorToFhir(state: CursorState): Basic & { id: string } {
  const extensions: Extension[] = [];
  const instant = (name: string, value: string | undefined): void => {
    if (value !== undefined) extensions.push(ext(name, { valueInstant: value }));
  };
  instant('since', state.since);
  for (const key of state.seen) extensions.push(ext('seen', { valueString: key }));
  for (const key of state.deletes) extensions.push(ext('deleted', { valueString: key }));
  if (state.head !== undefined) extensions.push(ext('head', { valueString: state.head }));
  extensions.push(ext('attempts', { valueInteger: state.attempts }));
  instant('retry-at', state.retryAt);
  instant('unavailable-since', state.unavailableSince);
  extensions.push(ext('unavailable-attempts', { valueInteger: state.unavailableAttempts }));
  if (state.lastError !== undefined) extensions.push(ext('last-error', { valueString: state.lastError }));
  instant('pending-since', state.pendingSince);
  instant('checked-at', state.checkedAt);
  if (state.lease) {
    extensions.push(ext('lease-owner', { valueString: state.lease.owner }));
    instant('lease-until', state.lease.until);
  }
  for (const name of COUNT_NAMES) extensions.push(ext(`count-${name}`, { valueInteger: state.counts[name] }));
  return {
    resourceType: 'Basic',
    id: cursorId(state.destination),
    identifier: [{ system: DESTINATION_SYSTEM, value: state.destination }],
    code: { coding: [{ system: PUBLISHING_SYSTEM, code: 'cursor', display: 'Publishing cursor' }] },
    extension: extensions,
  };
}

export function cursorFromFhir(basic: Basic): CursorState {
  const e = basic.extension;
  const destination = basic.identifier?.find((i) => i.system === DESTINATION_SYSTEM)?.value ?? '';
  const owner = text(e, 'lease-owner');
  const until = text(e, 'lease-until');
  const optional = <K extends string>(key: K, value: string | undefined): { [P in K]?: string } =>
    value === undefined ? {} : ({ [key]: value } as { [P in K]?: string });
  return {
    destination,
    ...optional('since', text(e, 'since')),
    seen: find(e, 'seen').flatMap((x) => (x.valueString ? [x.valueString] : [])),
    deletes: find(e, 'deleted').flatMap((x) => (x.valueString ? [x.valueString] : [])),
    ...optional('head', text(e, 'head')),
    attempts: int(e, 'attempts'),
    ...optional('retryAt', text(e, 'retry-at')),
    ...optional('unavailableSince', text(e, 'unavailable-since')),
    unavailableAttempts: int(e, 'unavailable-attempts'),
    ...optional('lastError', text(e, 'last-error')),
    ...optional('pendingSince', text(e, 'pending-since')),
    ...optional('checkedAt', text(e, 'checked-at')),
    ...(owner !== undefined && until !== undefined ? { lease: { owner, until } } : {}),
    counts: Object.fromEntries(COUNT_NAMES.map((n) => [n, int(e, `count-${n}`)])) as unknown as DeliveryCounts,
  };
}

export function deadLetterToFhir(letter: DeadLetter): Basic & { id: string } {
  const extensions: Extension[] = [
    ext('destination', { valueString: letter.destination }),
    ext('change', { valueString: letter.change }),
    ext('reason', { valueCode: letter.reason }),
    ext('attempts', { valueInteger: letter.attempts }),
    ext('message', { valueString: letter.message }),
    ext('created', { valueDateTime: letter.created }),
    ext('updated', { valueDateTime: letter.updated }),
  ];
  if (letter.httpStatus !== undefined) extensions.push(ext('http-status', { valueInteger: letter.httpStatus }));
  // The destination's OperationOutcome, kept whole for the operator.
  if (letter.outcome) extensions.push(ext('outcome', { valueReference: { reference: '#outcome' } }));
  return {
    resourceType: 'Basic',
    id: letter.id,
    ...(letter.outcome ? { contained: [{ ...letter.outcome, id: 'outcome' }] } : {}),
    identifier: [
      { system: DEAD_LETTER_SYSTEM, value: `${letter.destination}|${letter.change}` },
      { system: DESTINATION_SYSTEM, value: letter.destination },
    ],
    code: {
      coding: [
        { system: PUBLISHING_SYSTEM, code: 'dead-letter', display: 'Undelivered change' },
        // Status as a second coding so the replay queue is one search.
        { system: DEAD_LETTER_STATUS_SYSTEM, code: letter.status },
      ],
    },
    created: letter.created.slice(0, 10),
    extension: extensions,
  };
}

export function deadLetterFromFhir(basic: Basic): DeadLetter | undefined {
  const codes = basic.code.coding ?? [];
  if (!codes.some((c) => c.system === PUBLISHING_SYSTEM && c.code === 'dead-letter')) return undefined;
  const e = basic.extension;
  const status = codes.find((c) => c.system === DEAD_LETTER_STATUS_SYSTEM)?.code;
  const reason = text(e, 'reason');
  const outcome = basic.contained?.find(
    (c): c is OperationOutcome & { id: string } => c.resourceType === 'OperationOutcome',
  );
  const httpStatus = find(e, 'http-status')[0]?.valueInteger;
  const updated = text(e, 'updated') ?? '';
  return {
    id: basic.id ?? '',
    destination: text(e, 'destination') ?? '',
    change: text(e, 'change') ?? '',
    reason: reason === 'rejected' || reason === 'exhausted' ? reason : 'unprocessable',
    status: (DEAD_LETTER_STATUSES as readonly string[]).includes(status ?? '') ? (status as DeadLetterStatus) : 'open',
    attempts: int(e, 'attempts'),
    ...(httpStatus !== undefined ? { httpStatus } : {}),
    message: text(e, 'message') ?? '',
    ...(outcome ? { outcome: withoutId(outcome) } : {}),
    created: text(e, 'created') ?? updated,
    updated,
    ...(basic.meta?.versionId ? { versionId: basic.meta.versionId } : {}),
  };
}

function withoutId(outcome: OperationOutcome): OperationOutcome {
  const { id: _id, ...rest } = outcome;
  return rest;
}
