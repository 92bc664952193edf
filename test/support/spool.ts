import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditEvent } from 'fhir/r4.js';

/** A new, empty audit spool directory: each AuditLog in a test process takes its own. */
export function freshSpoolDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'phb-audit-spool-'));
}

/** Removes a closed spool directory that holds no segments (what an undelivered event would leave is kept to look at). */
export function removeSpoolDir(dir: string): void {
  if (existsSync(dir) && segmentFiles(dir).length === 0) rmSync(dir, { recursive: true, force: true });
}

/** The spool's segment files, oldest first. */
export function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith('segment-'))
    .sort();
}

/** Every whole AuditEvent line in the spool's segments, as a reader after a crash finds them. */
export function spooledEvents(dir: string): AuditEvent[] {
  return segmentFiles(dir).flatMap((name) =>
    readFileSync(path.join(dir, name), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as AuditEvent];
        } catch {
          return [];
        }
      }),
  );
}
