import type { Basic } from 'fhir/r4.js';
import { notFound } from '../outcome/errors.js';
import type { FhirStore } from '../store/fhirStore.js';
import {
  cursorFromFhir,
  deadLetterFromFhir,
  deadLetterToFhir,
  DEAD_LETTER_STATUS_SYSTEM,
  DESTINATION_SYSTEM,
  PUBLISHING_SYSTEM,
  type DeadLetter,
  type DeadLetterStatus,
  type DeliveryCounts,
} from './records.js';

/**
 * What the operator sees (GET /api/v1/admin/delivery and dead-letters), read from HAPI so it is
 * the same whichever facade instance answers and survives restarts.
 */

export interface DestinationStatus {
  destination: string;
  /** ok, retrying one change, or the destination unreachable. */
  state: 'ok' | 'retrying' | 'unavailable';
  /** How far behind: now minus the oldest change ready but not delivered at the last check; 0 when caught up. */
  lagMs: number;
  oldestUndelivered?: string;
  cursor?: string;
  checkedAt?: string;
  counts: DeliveryCounts;
  deadLetters: { open: number; replayRequested: number };
  lastError?: string;
}

async function count(store: FhirStore, destination: string, status: DeadLetterStatus): Promise<number> {
  const bundle = await store.search<Basic>('Basic', {
    code: [`${PUBLISHING_SYSTEM}|dead-letter`, `${DEAD_LETTER_STATUS_SYSTEM}|${status}`],
    identifier: `${DESTINATION_SYSTEM}|${destination}`,
    _summary: 'count',
  });
  return bundle.total ?? 0;
}

export async function deliveryStatus(
  store: FhirStore,
  now: number,
  destination?: string,
): Promise<DestinationStatus[]> {
  const bundle = await store.search<Basic>('Basic', {
    code: `${PUBLISHING_SYSTEM}|cursor`,
    ...(destination ? { identifier: `${DESTINATION_SYSTEM}|${destination}` } : {}),
    _count: 200,
  });
  const cursors = (bundle.entry ?? []).flatMap((e) =>
    e.resource?.resourceType === 'Basic' ? [cursorFromFhir(e.resource)] : [],
  );
  return Promise.all(
    cursors.map(async (c): Promise<DestinationStatus> => ({
      destination: c.destination,
      state: c.unavailableSince !== undefined ? 'unavailable' : c.head !== undefined ? 'retrying' : 'ok',
      lagMs: c.pendingSince ? Math.max(0, now - Date.parse(c.pendingSince)) : 0,
      ...(c.pendingSince ? { oldestUndelivered: c.pendingSince } : {}),
      ...(c.since ? { cursor: c.since } : {}),
      ...(c.checkedAt ? { checkedAt: c.checkedAt } : {}),
      counts: c.counts,
      deadLetters: {
        open: await count(store, c.destination, 'open'),
        replayRequested: await count(store, c.destination, 'replay-requested'),
      },
      ...(c.lastError ? { lastError: c.lastError } : {}),
    })),
  );
}

export async function listDeadLetters(
  store: FhirStore,
  filter: { destination?: string; status?: DeadLetterStatus },
): Promise<{ total: number; deadLetters: DeadLetter[] }> {
  const bundle = await store.search<Basic>('Basic', {
    code: [
      `${PUBLISHING_SYSTEM}|dead-letter`,
      ...(filter.status ? [`${DEAD_LETTER_STATUS_SYSTEM}|${filter.status}`] : []),
    ],
    ...(filter.destination ? { identifier: `${DESTINATION_SYSTEM}|${filter.destination}` } : {}),
    _sort: '-_lastUpdated',
    _count: 100,
    _total: 'accurate',
  });
  const deadLetters = (bundle.entry ?? [])
    .flatMap((e) => (e.resource?.resourceType === 'Basic' ? [deadLetterFromFhir(e.resource)] : []))
    .flatMap((d) => (d ? [d] : []));
  return { total: bundle.total ?? deadLetters.length, deadLetters };
}

/** Queues a dead letter for the publisher's next pass (durable, so any instance picks it up). */
export async function requestReplay(store: FhirStore, id: string, now: number): Promise<DeadLetter> {
  const basic = await store.readIfExists<Basic>('Basic', id);
  const letter = basic ? deadLetterFromFhir(basic) : undefined;
  if (!letter) throw notFound(`Dead letter ${id} is not known`);
  if (letter.status === 'replay-requested') return letter;
  const next: DeadLetter = { ...letter, status: 'replay-requested', updated: new Date(now).toISOString() };
  const written = await store.update(
    deadLetterToFhir(next),
    letter.versionId !== undefined ? { ifMatchVersion: letter.versionId } : {},
  );
  return { ...next, versionId: written.versionId };
}
