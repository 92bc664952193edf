import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Basic, FhirResource } from 'fhir/r4.js';
import type { Destination } from '../config/destinations.js';
import { logger } from '../log/logger.js';
import { AppError } from '../outcome/errors.js';
import type { FhirStore } from '../store/fhirStore.js';
import { backoffDelay } from './backoff.js';
import { DestinationClient, type DeliveryResult } from './client.js';
import { FEED_TYPES, Planner, type Action } from './decide.js';
import { readWindow, type Change } from './feed.js';
import {
  cursorFromFhir,
  cursorId,
  cursorToFhir,
  deadLetterFromFhir,
  deadLetterId,
  deadLetterToFhir,
  DEAD_LETTER_STATUS_SYSTEM,
  DESTINATION_SYSTEM,
  NO_COUNTS,
  type CursorState,
  type DeadLetter,
} from './records.js';

/**
 * The outbound publisher: runs inside the facade on an interval, one pass at a time. Each pass,
 * per destination: take the lease (one instance publishes to a destination at a time), replay
 * dead letters the operator asked for, read the change feed from the cursor stored in HAPI,
 * decide and deliver change by change in order, and move the cursor only past changes that
 * were delivered, did not concern the destination, or were recorded as dead letters. Nothing is
 * queued in memory: a restart reads the cursor and carries on; a change sent again is a
 * conditional update that changes nothing.
 */

export interface PublisherOptions {
  store: FhirStore;
  destinations: readonly Destination[];
  intervalMs: number;
  /** Changes younger than this wait for the next pass, so transactions still committing are not skipped. */
  settleMs?: number;
  /** At most this many changes per destination and pass. */
  maxChangesPerPass?: number;
  /** Who holds the lease; default: host, process and a random part. */
  owner?: string;
  now?: () => number;
}

type Handled =
  | 'delivered'
  | 'skipped'
  | 'dead-lettered'
  | { retry: Exclude<DeliveryResult, { kind: 'delivered' } | { kind: 'rejected' }> };

type Delivery =
  | { kind: 'delivered'; writes: number }
  | { kind: 'rejected'; writes: number; result: Extract<DeliveryResult, { kind: 'rejected' }> }
  | { kind: 'retry'; writes: number; result: Extract<DeliveryResult, { kind: 'failed' | 'unavailable' }> };

const iso = (ms: number): string => new Date(ms).toISOString();
const SAVE_EVERY = 50;
const MAX_DELETES_REMEMBERED = 100;

function isVersionConflict(e: unknown): boolean {
  return e instanceof AppError && e.options.reason === 'version-conflict';
}

interface Held {
  state: CursorState;
  version: string | undefined;
}

export class Publisher {
  private readonly clients = new Map<string, DestinationClient>();
  private readonly held = new Map<string, Held>();
  private readonly settleMs: number;
  private readonly maxChanges: number;
  private readonly owner: string;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** stop() was called: the pass in hand finishes the change it is on and saves. */
  private stopping = false;
  /** A pass left changes for later (a full window): the next one starts at once. */
  private more = false;

  constructor(private readonly options: PublisherOptions) {
    for (const d of options.destinations) this.clients.set(d.id, new DestinationClient(d));
    this.settleMs = options.settleMs ?? 2000;
    this.maxChanges = options.maxChangesPerPass ?? 500;
    this.owner = options.owner ?? `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.now = options.now ?? Date.now;
  }

  /** Access tokens obtained per destination (each is cached until it nearly expires). */
  tokensIssued(destination: string): number {
    return this.clients.get(destination)?.tokens.issued ?? 0;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = false;
    this.schedule(0);
    logger.info('publisher started', {
      destinations: this.options.destinations.map((d) => d.id),
      intervalMs: this.options.intervalMs,
    });
  }

  /** Finishes the change in hand, saves the cursors, hands the leases back. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    for (const [id, held] of this.held) {
      try {
        const { lease: _lease, ...rest } = held.state;
        await this.options.store.update(
          cursorToFhir(rest),
          held.version !== undefined ? { ifMatchVersion: held.version } : {},
        );
      } catch (e) {
        logger.warn('publisher could not hand back its lease', {
          destination: id,
          status: e instanceof AppError ? e.status : undefined,
        });
      }
    }
    this.held.clear();
    logger.info('publisher stopped', {});
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      void this.runOnce().finally(() => {
        if (!this.stopped) this.schedule(this.more ? 0 : this.options.intervalMs);
      });
    }, delayMs);
  }

  /** One pass over every destination; a pass already running is joined, never doubled. */
  runOnce(): Promise<void> {
    this.running ??= (async () => {
      this.more = false;
      for (const destination of this.options.destinations) {
        if (this.stopping) break;
        try {
          await this.pass(destination);
        } catch (e) {
          // HAPI itself unreachable or refusing: nothing moved; the next pass tries again.
          logger.warn('publish pass failed', {
            destination: destination.id,
            status: e instanceof AppError ? e.status : undefined,
            error: e instanceof AppError ? e.message : (e as Error).name,
          });
        }
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loadCursor(destination: Destination): Promise<Held> {
    const basic = await this.options.store.readIfExists<Basic>('Basic', cursorId(destination.id));
    if (basic)
      return { state: { ...cursorFromFhir(basic), destination: destination.id }, version: basic.meta?.versionId };
    return {
      state: {
        destination: destination.id,
        seen: [],
        deletes: [],
        attempts: 0,
        unavailableAttempts: 0,
        counts: { ...NO_COUNTS },
      },
      version: undefined,
    };
  }

  private async save(held: Held): Promise<void> {
    const result = await this.options.store.update(
      cursorToFhir(held.state),
      held.version !== undefined ? { ifMatchVersion: held.version } : {},
    );
    held.version = result.versionId;
    this.held.set(held.state.destination, held);
  }

  private async pass(destination: Destination): Promise<void> {
    const started = this.now();
    const held = await this.loadCursor(destination);
    const { state } = held;
    const leaseMs = Math.max(30000, this.options.intervalMs * 6);
    if (state.lease && state.lease.owner !== this.owner && Date.parse(state.lease.until) > started) {
      this.held.delete(destination.id);
      return; // another instance publishes to this destination
    }
    if (!state.lease || state.lease.owner !== this.owner || Date.parse(state.lease.until) - started < leaseMs / 2) {
      state.lease = { owner: this.owner, until: iso(started + leaseMs) };
      state.checkedAt = iso(started);
      try {
        await this.save(held);
      } catch (e) {
        if (isVersionConflict(e)) return; // another instance took it a moment ago
        throw e;
      }
    }
    this.held.set(destination.id, held);
    if (state.retryAt !== undefined && Date.parse(state.retryAt) > started) return; // backing off

    const client = this.clients.get(destination.id) as DestinationClient;
    const before = { ...state.counts };
    let dirty = await this.replays(destination, client, held);

    const since = state.since ?? destination.startFrom;
    const window = await readWindow(this.options.store, {
      resourceTypes: FEED_TYPES[destination.kind],
      ...(since !== undefined ? { since } : {}),
      seen: [...state.seen, ...state.deletes],
      until: this.now() - this.settleMs,
      pageSize: destination.pageSize,
      maxChanges: this.maxChanges,
    });
    const planner = new Planner(this.options.store, destination);
    let stoppedAt: Change | undefined;
    let handledCount = 0;
    for (const change of window.changes) {
      if (this.stopping) {
        stoppedAt = change;
        break;
      }
      const handled = await this.handle(destination, client, planner, change, state);
      if (typeof handled === 'object') {
        this.scheduleRetry(destination, change, handled.retry, state);
        if (state.head === undefined) {
          // Out of attempts: recorded as a dead letter, so the feed moves on.
          await this.deadLetter(destination, change, 'exhausted', state, handled.retry);
          this.advance(state, change);
        } else {
          stoppedAt = change;
          dirty = true;
          break;
        }
      } else {
        this.advance(state, change);
      }
      dirty = true;
      if (++handledCount % SAVE_EVERY === 0) await this.save(held);
    }
    if (window.truncated && stoppedAt === undefined) this.more = true;
    const pendingSince = stoppedAt?.time ?? (window.truncated ? state.since : undefined);
    if (pendingSince !== state.pendingSince) dirty = true;
    if (pendingSince === undefined) delete state.pendingSince;
    else state.pendingSince = pendingSince;
    if (dirty) {
      state.checkedAt = iso(this.now());
      await this.save(held);
    }
    const counts = Object.fromEntries(
      Object.entries(state.counts).map(([k, v]) => [k, v - before[k as keyof typeof before]]),
    );
    if (handledCount > 0 || stoppedAt !== undefined || counts.replayed) {
      logger.info('publish pass', {
        destination: destination.id,
        ...counts,
        lagMs: state.pendingSince ? Math.max(0, this.now() - Date.parse(state.pendingSince)) : 0,
        waiting: stoppedAt !== undefined,
        durationMs: this.now() - started,
      });
    }
  }

  /** Moves the cursor past a change that needs nothing more. */
  private advance(state: CursorState, change: Change): void {
    if (!change.resource) state.deletes = [...state.deletes, change.key].slice(-MAX_DELETES_REMEMBERED);
    if (state.since === change.time) state.seen.push(change.key);
    else {
      state.since = change.time;
      state.seen = [change.key];
    }
    delete state.head;
    delete state.retryAt;
    delete state.unavailableSince;
    delete state.lastError;
    state.attempts = 0;
    state.unavailableAttempts = 0;
  }

  /** After a failed try: wait with backoff; clears `head` when the change has used up its attempts. */
  private scheduleRetry(
    destination: Destination,
    change: Change,
    result: Extract<DeliveryResult, { kind: 'failed' | 'unavailable' }>,
    state: CursorState,
  ): void {
    const now = this.now();
    const { baseDelayMs, maxDelayMs, maxAttempts } = destination.retry;
    state.lastError = result.message;
    if (result.kind === 'unavailable') {
      // The destination is not there: the change is not at fault and keeps its attempts.
      state.unavailableAttempts++;
      state.unavailableSince ??= iso(now);
      state.head = change.key;
      const wait = backoffDelay(state.unavailableAttempts, baseDelayMs, maxDelayMs);
      state.retryAt = iso(now + wait);
      state.counts.retried++;
      logger.warn('destination unavailable', {
        destination: destination.id,
        status: result.status,
        retryInMs: wait,
        attempt: state.unavailableAttempts,
      });
      return;
    }
    const attempts = state.head === change.key ? state.attempts + 1 : 1;
    if (attempts >= maxAttempts) {
      state.attempts = attempts;
      delete state.head;
      return;
    }
    const wait = backoffDelay(attempts, baseDelayMs, maxDelayMs);
    state.head = change.key;
    state.attempts = attempts;
    state.retryAt = iso(now + wait);
    state.counts.retried++;
    logger.warn('delivery will be retried', {
      destination: destination.id,
      resourceType: change.resourceType,
      status: result.status,
      attempt: attempts,
      retryInMs: wait,
    });
  }

  private async handle(
    destination: Destination,
    client: DestinationClient,
    planner: Planner,
    change: Change,
    state: CursorState,
  ): Promise<Handled> {
    const decision = await planner.decide(change);
    if (decision.kind === 'skip') {
      state.counts.skipped++;
      return 'skipped';
    }
    if (decision.kind === 'unprocessable') {
      await this.deadLetter(destination, change, 'unprocessable', state, { message: decision.message });
      return 'dead-lettered';
    }
    const delivery = await this.deliver(client, decision.actions);
    state.counts.writes += delivery.writes;
    if (delivery.kind === 'retry') return { retry: delivery.result };
    if (delivery.kind === 'rejected') {
      await this.deadLetter(destination, change, 'rejected', state, delivery.result);
      return 'dead-lettered';
    }
    state.counts.delivered++;
    return 'delivered';
  }

  /** Every write of a change; a refused one does not stop the others (each is keyed, so a replay repeats the rest harmlessly). */
  private async deliver(client: DestinationClient, actions: readonly Action[]): Promise<Delivery> {
    let writes = 0;
    let rejected: Extract<DeliveryResult, { kind: 'rejected' }> | undefined;
    for (const action of actions) {
      const result =
        action.op === 'upsert'
          ? await client.upsert(action.body, action.identifier)
          : await client.remove(action.resourceType, action.identifier);
      if (result.kind === 'delivered') writes++;
      else if (result.kind === 'rejected') rejected ??= result;
      else return { kind: 'retry', writes, result };
    }
    return rejected ? { kind: 'rejected', writes, result: rejected } : { kind: 'delivered', writes };
  }

  private async deadLetter(
    destination: Destination,
    change: Change,
    reason: DeadLetter['reason'],
    state: CursorState,
    result: { status?: number; outcome?: DeadLetter['outcome']; message: string },
  ): Promise<void> {
    const now = iso(this.now());
    const letter: DeadLetter = {
      id: deadLetterId(destination.id, change.key),
      destination: destination.id,
      change: change.key,
      reason,
      status: 'open',
      attempts: Math.max(1, state.head === change.key || reason === 'exhausted' ? state.attempts : 1),
      ...(result.status !== undefined ? { httpStatus: result.status } : {}),
      message: result.message,
      ...(result.outcome ? { outcome: result.outcome } : {}),
      created: now,
      updated: now,
    };
    await this.options.store.update(deadLetterToFhir(letter));
    state.counts.deadLettered++;
    logger.warn('delivery dead-lettered', {
      destination: destination.id,
      deadLetter: letter.id,
      resourceType: change.resourceType,
      reason,
      status: result.status,
    });
  }

  /** Dead letters the operator asked to replay: sent again as they stand now. */
  private async replays(destination: Destination, client: DestinationClient, held: Held): Promise<boolean> {
    const { store } = this.options;
    const bundle = await store.search<Basic>('Basic', {
      code: `${DEAD_LETTER_STATUS_SYSTEM}|replay-requested`,
      identifier: `${DESTINATION_SYSTEM}|${destination.id}`,
      _count: 50,
    });
    let changed = false;
    for (const entry of bundle.entry ?? []) {
      if (entry.resource?.resourceType !== 'Basic') continue;
      const letter = deadLetterFromFhir(entry.resource);
      const match = letter ? /^([A-Za-z]+)\/([^/]+)\/_history\/([^/]+)$/.exec(letter.change) : null;
      if (!letter || !match) continue;
      const [, resourceType, id] = match as unknown as [string, string, string];
      const current = await store.readIfExists<FhirResource>(resourceType as FhirResource['resourceType'], id);
      const change: Change = current
        ? {
            key: letter.change,
            resourceType,
            id,
            version: current.meta?.versionId ?? '',
            time: current.meta?.lastUpdated ?? '',
            resource: current,
          }
        : { key: letter.change, resourceType, id, version: '', time: '' };
      const decision = await new Planner(store, destination).decide(change);
      let next: DeadLetter = { ...letter, updated: iso(this.now()), attempts: letter.attempts + 1 };
      if (decision.kind === 'unprocessable')
        next = { ...next, status: 'open', reason: 'unprocessable', message: decision.message };
      else if (decision.kind === 'skip') next = { ...next, status: 'replayed' };
      else {
        const delivery = await this.deliver(client, decision.actions);
        held.state.counts.writes += delivery.writes;
        if (delivery.kind === 'retry') return changed; // destination down: the request stays queued
        const { outcome: _old, httpStatus: _oldStatus, ...rest } = next;
        next =
          delivery.kind === 'delivered'
            ? { ...next, status: 'replayed' }
            : {
                ...rest,
                status: 'open',
                reason: 'rejected',
                httpStatus: delivery.result.status,
                message: delivery.result.message,
                ...(delivery.result.outcome ? { outcome: delivery.result.outcome } : {}),
              };
      }
      try {
        await store.update(
          deadLetterToFhir(next),
          letter.versionId !== undefined ? { ifMatchVersion: letter.versionId } : {},
        );
      } catch (e) {
        if (!isVersionConflict(e)) throw e;
      }
      if (next.status === 'replayed') held.state.counts.replayed++;
      changed = true;
      logger.info('dead letter replayed', { destination: destination.id, deadLetter: letter.id, outcome: next.status });
    }
    return changed;
  }
}
