import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AuditEvent } from 'fhir/r4.js';
import { AuditSpool, SpoolLockedError, type SpoolSettings } from '../../src/audit/spool.js';
import { freshSpoolDir, segmentFiles, spooledEvents } from '../support/spool.js';

/** The spool on the real file system, each test in a directory of its own. */

const event = (id: string): AuditEvent => ({
  resourceType: 'AuditEvent',
  id,
  type: { code: 'rest' },
  recorded: '2026-01-01T00:00:00Z',
  agent: [{ requestor: true }],
  source: { observer: { display: 'test' } },
});

const settings = (dir: string, changes: Partial<SpoolSettings> = {}): SpoolSettings => ({
  dir,
  segmentBytes: 1024 * 1024,
  segmentMaxAgeMs: 60000,
  ...changes,
});

/** A process id that has ended: a lock holding it is stale. */
function deadPid(): number {
  const run = spawnSync(process.execPath, ['-e', '0']);
  return run.pid as number;
}

describe('audit spool', () => {
  const opened: AuditSpool[] = [];
  const open = (s: SpoolSettings): ReturnType<typeof AuditSpool.open> => {
    const result = AuditSpool.open(s);
    opened.push(result.spool);
    return result;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  it('gathers appends that arrive during a write into the next one, and each resolves with its line on disk', async () => {
    const dir = freshSpoolDir();
    const { spool } = open(settings(dir));
    const ids = Array.from({ length: 50 }, (_, i) => `ev-${i}`);
    const appends = ids.map((id) => spool.append(event(id)).then(() => spooledEvents(dir).some((e) => e.id === id)));
    // Every append found its own line on disk when it resolved.
    expect(await Promise.all(appends)).toEqual(ids.map(() => true));
    // The first goes at once, the other 49 gather behind its fdatasync: two group writes, not 50.
    expect(spool.groups).toBe(2);
    expect(spooledEvents(dir).map((e) => e.id)).toEqual(ids);
  });

  it('rotates segments by size and deletes each closed one once all its events are confirmed', async () => {
    const dir = freshSpoolDir();
    // About 170 bytes an event: two to a segment.
    const { spool } = open(settings(dir, { segmentBytes: 200 }));
    const segments = [];
    for (let i = 0; i < 6; i++) segments.push(await spool.append(event(`rot-${i}`)));
    expect(segmentFiles(dir)).toHaveLength(3);
    expect(new Set(segments).size).toBe(3);
    for (const s of segments.slice(0, 3)) spool.confirm(s);
    await new Promise((r) => setTimeout(r, 50));
    // The first segment is wholly confirmed and gone; the second keeps its unconfirmed event (and its confirmed one).
    expect(segmentFiles(dir)).toHaveLength(2);
    expect(spooledEvents(dir).map((e) => e.id)).toEqual(['rot-2', 'rot-3', 'rot-4', 'rot-5']);
    for (const s of segments.slice(3)) spool.confirm(s);
    await spool.close();
    expect(segmentFiles(dir)).toEqual([]);
  });

  it('hands what a stopped process left behind to the next one, skipping a line cut short by a crash', async () => {
    const dir = freshSpoolDir();
    const first = open(settings(dir)).spool;
    await first.append(event('left-1'));
    await first.append(event('left-2'));
    // A crash: no close, the lock still names the process, the last line half-written.
    writeFileSync(path.join(dir, 'lock'), String(deadPid()));
    const [name] = segmentFiles(dir);
    writeFileSync(
      path.join(dir, name as string),
      `${readFileSync(path.join(dir, name as string), 'utf8')}{"resourceType":"AuditEvent","id":"left-3","ty`,
    );

    const { spool, leftovers } = open(settings(dir));
    expect(leftovers.flatMap((l) => l.events.map((e) => e.id))).toEqual(['left-1', 'left-2']);
    // New events go to a new segment, never after the cut line.
    const segment = await spool.append(event('new-1'));
    expect(segment.name).not.toBe(name);
    for (const l of leftovers) for (let i = 0; i < l.events.length; i++) spool.confirm(l.segment);
    spool.confirm(segment);
    await spool.close();
    expect(segmentFiles(dir)).toEqual([]);
  });

  it('removes a leftover segment that holds no whole event', () => {
    const dir = freshSpoolDir();
    writeFileSync(path.join(dir, 'segment-000000000007.jsonl'), '{"resourceType":"Audit');
    const { leftovers } = open(settings(dir));
    expect(leftovers).toEqual([]);
  });

  it('refuses a directory a live process holds, naming it, and takes over a lock left by a stopped one', async () => {
    const dir = freshSpoolDir();
    open(settings(dir));
    expect(() => AuditSpool.open(settings(dir))).toThrow(SpoolLockedError);
    expect(() => AuditSpool.open(settings(dir))).toThrow(
      new RegExp(`audit spool ${dir} is in use by process ${process.pid}`),
    );
    await opened.splice(0)[0]?.close();
    expect(existsSync(path.join(dir, 'lock'))).toBe(false);

    writeFileSync(path.join(dir, 'lock'), String(deadPid()));
    open(settings(dir));
    expect(readFileSync(path.join(dir, 'lock'), 'utf8')).toBe(String(process.pid));
  });

  it('rejects the appends of a group it cannot write, and writes the next group to a new segment', async () => {
    const dir = freshSpoolDir();
    // One group to a segment, so every group needs a new file.
    const { spool } = open(settings(dir, { segmentBytes: 1 }));
    const before = await spool.append(event('before'));
    // The directory is gone (a lost mount; a full disk refuses the new file alike): the group cannot be written.
    rmSync(dir, { recursive: true, force: true });
    await expect(spool.append(event('lost'))).rejects.toMatchObject({ code: 'ENOENT' });
    mkdirSync(dir);
    const after = await spool.append(event('after'));
    expect(after.name).not.toBe(before.name);
    expect(spooledEvents(dir).map((e) => e.id)).toEqual(['after']);
  });
});
