import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.js';
import type { FhirStore } from '../store/fhirStore.js';

/**
 * HAPI's history as a change feed. HAPI lists history newest first and pages by offset, and
 * `_since` is inclusive; so a window is read whole (from the cursor to a settle line a little in
 * the past, which leaves room for transactions still committing), sorted oldest first, and each
 * change is known by `Type/id/_history/version`.
 */

export interface Change {
  key: string;
  resourceType: string;
  id: string;
  version: string;
  /** When it was written: `meta.lastUpdated`, or for a delete (HAPI gives it no time) that of the entry before it. */
  time: string;
  /** Absent for a delete. */
  resource?: FhirResource;
}

export interface WindowQuery {
  resourceTypes: readonly string[];
  /** Inclusive lower bound; absent = from the beginning. */
  since?: string;
  /** Changes at `since` already handled, and recent deletes handled (their time is only estimated). */
  seen: readonly string[];
  /** Only changes at or before this instant. */
  until: number;
  pageSize: number;
  /** At most this many changes per window; the rest wait for the next. */
  maxChanges: number;
}

export interface Window {
  /** Oldest first; only the newest version of each resource. */
  changes: Change[];
  /** Changes left for a later window because of `maxChanges`. */
  truncated: boolean;
}

const ms = (time: string): number => Date.parse(time);

function changeOf(entry: BundleEntry): Change | undefined {
  const match = /^([A-Za-z]+)\/([^/]+)\/_history\/([^/]+)$/.exec(entry.request?.url ?? '');
  const resource = entry.resource;
  if (entry.request?.method === 'DELETE') {
    if (!match) return undefined;
    const [, resourceType, id, version] = match as unknown as [string, string, string, string];
    return { key: `${resourceType}/${id}/_history/${version}`, resourceType, id, version, time: '' };
  }
  if (!resource?.id || !resource.meta?.versionId || !resource.meta.lastUpdated) return undefined;
  const { resourceType, id } = resource;
  const version = resource.meta.versionId;
  return {
    key: `${resourceType}/${id}/_history/${version}`,
    resourceType,
    id,
    version,
    time: resource.meta.lastUpdated,
    resource,
  };
}

function nextLink(bundle: Bundle): string | undefined {
  return bundle.link?.find((l) => l.relation === 'next')?.url;
}

/** The oldest `max` changes of one type in [since, until], and whether newer ones were left out. */
async function readType(
  store: FhirStore,
  resourceType: string,
  query: WindowQuery,
): Promise<{ changes: Change[]; truncated: boolean }> {
  let kept: Change[] = [];
  let truncated = false;
  let page = await store.history({
    resourceType,
    ...(query.since !== undefined ? { since: query.since } : {}),
    count: query.pageSize,
  });
  for (let pages = 0; ; pages++) {
    for (const entry of page.entry ?? []) {
      const change = changeOf(entry);
      if (change && (change.time === '' || ms(change.time) <= query.until)) kept.push(change);
    }
    // Newest first: keep the oldest `max` seen so far (a sliding tail), so memory stays bounded.
    if (kept.length > query.maxChanges) {
      kept = kept.slice(kept.length - query.maxChanges);
      truncated = true;
    }
    const next = nextLink(page);
    if (!next || (page.entry ?? []).length === 0 || pages > 10000) break;
    page = await store.history({ page: next });
  }
  // HAPI gives a delete no time: it happened after the entry below it, so take that time (a lower
  // bound, never past the settle line); the cursor remembers recent deletes so none is sent twice.
  let older = query.since ?? new Date(0).toISOString();
  for (let i = kept.length - 1; i >= 0; i--) {
    const change = kept[i] as Change;
    if (change.time === '') change.time = older;
    else older = change.time;
  }
  return { changes: kept, truncated };
}

export async function readWindow(store: FhirStore, query: WindowQuery): Promise<Window> {
  const perType = await Promise.all(query.resourceTypes.map((t) => readType(store, t, query)));
  // A truncated type has unread changes after its newest kept one: nothing later may be handled yet.
  let limit = query.until;
  for (const t of perType) {
    if (!t.truncated || t.changes.length === 0) continue;
    // The kept changes are the oldest; unread ones are newer than the newest kept.
    limit = Math.min(limit, Math.max(...t.changes.map((c) => ms(c.time))));
  }
  const seen = new Set(query.seen);
  const byKey = new Map<string, Change>();
  for (const change of perType.flatMap((t) => t.changes)) {
    // Offset paging repeats an entry when a write lands between two pages.
    if (seen.has(change.key) || ms(change.time) > limit) continue;
    byKey.set(change.key, change);
  }
  const all = [...byKey.values()].sort((a, b) => ms(a.time) - ms(b.time) || a.key.localeCompare(b.key));
  // Only the newest version of a resource matters: what it is now is what gets sent.
  const newest = new Map<string, Change>();
  for (const c of all) newest.set(`${c.resourceType}/${c.id}`, c);
  const changes = all.filter((c) => newest.get(`${c.resourceType}/${c.id}`) === c).slice(0, query.maxChanges);
  return {
    changes,
    truncated:
      perType.some((t) => t.truncated) ||
      changes.length < all.filter((c) => newest.get(`${c.resourceType}/${c.id}`) === c).length,
  };
}
