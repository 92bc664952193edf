import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { AuditEvent } from 'fhir/r4.js';
import { logger } from '../log/logger.js';

export interface SpoolSettings {
  dir: string;
  /** A segment this large is closed and the next group starts a new one. */
  segmentBytes: number;
  /** A segment this old is closed too, so a quiet facade does not keep delivered events on disk. */
  segmentMaxAgeMs: number;
}

/** One file of the spool; deleted once it is closed and every event in it is confirmed stored. */
export interface Segment {
  readonly name: string;
  readonly path: string;
  fd?: FileHandle;
  bytes: number;
  openedAt: number;
  /** Events written to it whose storage in the audit repository is not yet confirmed. */
  unconfirmed: number;
  sealed: boolean;
  removed?: boolean;
}

/** What a previous process spooled and did not see stored: its segments are delivered again. */
export interface Leftover {
  segment: Segment;
  events: AuditEvent[];
}

export class SpoolLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `The audit spool ${dir} is in use by process ${pid}: give each facade its own AUDIT_SPOOL_DIR (or delete ${path.join(dir, LOCK)} if that process is not a facade)`,
    );
    this.name = 'SpoolLockedError';
  }
}

const LOCK = 'lock';
const SEGMENT = /^segment-(\d{12})\.jsonl$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Makes a directory entry (a new or removed file) durable, not only the file's own data. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

interface Waiting {
  line: string;
  resolve: (segment: Segment) => void;
  reject: (e: unknown) => void;
}

/**
 * The local append-only spool that makes an AuditEvent durable before its answer leaves: events
 * are JSON lines in numbered segment files. Appends that arrive while a write and fdatasync are
 * under way are gathered and written with the next one (one fdatasync per group), and each
 * append resolves only after the fdatasync of its group. A lock file holding the pid keeps a
 * second live process out of the directory.
 */
export class AuditSpool {
  private current: Segment | undefined;
  private nextNumber: number;
  private waiting: Waiting[] = [];
  private writing: Promise<void> | undefined;
  private readonly closing = new Set<Promise<unknown>>();
  private closed = false;
  /** Group writes (each one write and one fdatasync) so far. */
  groups = 0;

  private constructor(
    private readonly settings: SpoolSettings,
    lastNumber: number,
  ) {
    this.nextNumber = lastNumber + 1;
  }

  /** Takes the directory (creating it), and reads what a previous process left behind. */
  static open(settings: SpoolSettings): { spool: AuditSpool; leftovers: Leftover[] } {
    mkdirSync(settings.dir, { recursive: true });
    lock(settings.dir);
    const names = readdirSync(settings.dir)
      .filter((n) => SEGMENT.test(n))
      .sort();
    const last = names.length ? Number(SEGMENT.exec(names[names.length - 1] as string)?.[1]) : 0;
    const spool = new AuditSpool(settings, last);
    const leftovers: Leftover[] = [];
    for (const name of names) {
      const events = readSegment(settings.dir, name);
      const segment: Segment = {
        name,
        path: path.join(settings.dir, name),
        bytes: 0,
        openedAt: 0,
        unconfirmed: events.length,
        sealed: true,
      };
      if (events.length) leftovers.push({ segment, events });
      else spool.remove(segment);
    }
    return { spool, leftovers };
  }

  append(event: AuditEvent): Promise<Segment> {
    if (this.closed) return Promise.reject(new Error('The audit spool is closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ line: `${JSON.stringify(event)}\n`, resolve, reject });
      this.writing ??= this.writeGroups();
    });
  }

  /** One event of the segment is stored in the audit repository. */
  confirm(segment: Segment): void {
    segment.unconfirmed--;
    if (segment.unconfirmed > 0) return;
    if (segment.sealed) this.remove(segment);
    else if (!this.writing && Date.now() - segment.openedAt >= this.settings.segmentMaxAgeMs) this.seal(segment);
  }

  /** Waits for appends under way, closes the segment (deleting it when all is stored) and releases the lock. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
    if (this.current) this.seal(this.current);
    while (this.closing.size) await Promise.allSettled([...this.closing]);
    rmSync(path.join(this.settings.dir, LOCK), { force: true });
  }

  private async writeGroups(): Promise<void> {
    while (this.waiting.length) {
      const group = this.waiting.splice(0);
      try {
        const segment = await this.segmentForWrite();
        const data = Buffer.from(group.map((w) => w.line).join(''));
        for (let offset = 0; offset < data.length;)
          offset += (await (segment.fd as FileHandle).write(data, offset)).bytesWritten;
        await (segment.fd as FileHandle).datasync();
        this.groups++;
        segment.bytes += data.length;
        segment.unconfirmed += group.length;
        for (const w of group) w.resolve(segment);
      } catch (e) {
        // The segment may end in part of a line now: the next group starts a new one (a reader skips the part).
        if (this.current) this.seal(this.current);
        logger.error('audit spool write failed', {
          dir: this.settings.dir,
          events: group.length,
          code: (e as NodeJS.ErrnoException).code,
        });
        for (const w of group) w.reject(e);
      }
    }
    this.writing = undefined;
  }

  private async segmentForWrite(): Promise<Segment> {
    const current = this.current;
    if (
      current &&
      current.bytes < this.settings.segmentBytes &&
      Date.now() - current.openedAt < this.settings.segmentMaxAgeMs
    )
      return current;
    if (current) this.seal(current);
    const name = `segment-${String(this.nextNumber++).padStart(12, '0')}.jsonl`;
    const segment: Segment = {
      name,
      path: path.join(this.settings.dir, name),
      bytes: 0,
      openedAt: Date.now(),
      unconfirmed: 0,
      sealed: false,
    };
    segment.fd = await open(segment.path, 'ax');
    syncDir(this.settings.dir);
    this.current = segment;
    return segment;
  }

  /** No more appends go to the segment; it is deleted once all its events are stored. */
  private seal(segment: Segment): void {
    segment.sealed = true;
    if (this.current === segment) this.current = undefined;
    const fd = segment.fd;
    segment.fd = undefined;
    const closed = fd ? fd.close() : Promise.resolve();
    this.track(
      closed.then(() => {
        if (segment.unconfirmed === 0) this.remove(segment);
      }),
    );
  }

  private remove(segment: Segment): void {
    if (segment.removed) return;
    segment.removed = true;
    this.track(
      unlink(segment.path).catch((e: unknown) => {
        logger.warn('audit spool segment not removed', {
          segment: segment.name,
          code: (e as NodeJS.ErrnoException).code,
        });
      }),
    );
  }

  private track(p: Promise<unknown>): void {
    this.closing.add(p);
    void p.finally(() => this.closing.delete(p));
  }
}

/** The lock file holds the owner's pid; a lock left by a process that is gone is taken over. */
function lock(dir: string): void {
  const file = path.join(dir, LOCK);
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new SpoolLockedError(dir, pid);
    logger.warn('audit spool lock left by a stopped process taken over', {
      dir,
      pid: Number.isNaN(pid) ? undefined : pid,
    });
    rmSync(file, { force: true });
  }
}

/** The events of a segment; a line that is not a whole event (a crash mid-write) is skipped with a warning. */
function readSegment(dir: string, name: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  const lines = readFileSync(path.join(dir, name), 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line === '') return;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      event = undefined;
    }
    const e = event as Partial<AuditEvent> | undefined;
    if (e?.resourceType === 'AuditEvent' && typeof e.id === 'string') events.push(e as AuditEvent);
    else
      logger.warn('audit spool line skipped: not a whole AuditEvent', {
        segment: name,
        line: i + 1,
        last: i >= lines.length - 2,
      });
  });
  return events;
}
