import { repoRoot } from '../../src/config/config.js';
import { groupGraph, importCycles, moduleGraph, type ModuleGraph } from '../support/moduleGraph.js';

/**
 * The dependency direction of DESIGN.md, checked on the import statements themselves:
 * api -> (auth, audit, domain, fhir, publish) -> store, domain importing nothing else of ours,
 * and no import cycle between files or between folders.
 */

const graph = moduleGraph(repoRoot);

/** A file's folder under src (`src/api`, `src/domain`); a file at the top is its own. */
function folderOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : file;
}

/** The imports of files under `from` that land under `to`, as `a -> b` lines. */
function importsBetween(g: ModuleGraph, from: string, to: string): string[] {
  return [...g].flatMap(([file, targets]) =>
    file.startsWith(`${from}/`) ? targets.filter((t) => t.startsWith(`${to}/`)).map((t) => `${file} -> ${t}`) : [],
  );
}

/** Imports of files under `folder` that leave it for anything but the folders it may use. */
function importsOutside(g: ModuleGraph, folder: string, mayUse: readonly string[]): string[] {
  const allowed = [folder, ...mayUse];
  return [...g].flatMap(([file, targets]) =>
    file.startsWith(`${folder}/`)
      ? targets.filter((t) => !allowed.some((a) => t.startsWith(`${a}/`))).map((t) => `${file} -> ${t}`)
      : [],
  );
}

const arrows = (cycles: string[][]): string[] => cycles.map((c) => c.join(' -> '));

describe('the checker itself', () => {
  const small: ModuleGraph = new Map([
    ['src/a/x.ts', ['src/b/y.ts']],
    ['src/b/y.ts', ['src/b/z.ts']],
    ['src/b/z.ts', ['src/a/x.ts']],
    ['src/c/w.ts', ['src/a/x.ts']],
  ]);

  it('names the files of a cycle in order', () => {
    expect(arrows(importCycles(small))).toEqual(['src/a/x.ts -> src/b/y.ts -> src/b/z.ts -> src/a/x.ts']);
  });

  it('finds a cycle between folders where the files form none', () => {
    const folders: ModuleGraph = new Map([
      ['src/a/x.ts', ['src/b/y.ts']],
      ['src/b/y.ts', []],
      ['src/b/z.ts', ['src/a/w.ts']],
      ['src/a/w.ts', []],
    ]);
    expect(importCycles(folders)).toEqual([]);
    expect(arrows(importCycles(groupGraph(folders, folderOf)))).toEqual(['src/a -> src/b -> src/a']);
  });

  it('reads the source tree: every file, with type-only imports counted', () => {
    expect(graph.get('src/api/app.ts')).toContain('src/api/protectedRoutes.ts');
    expect(graph.get('src/api/fhir/routes.ts')).toContain('src/api/route.ts');
  });
});

describe('imports under src', () => {
  it('form no cycle between files', () => {
    expect(arrows(importCycles(graph))).toEqual([]);
  });

  it('form no cycle between folders', () => {
    expect(arrows(importCycles(groupGraph(graph, folderOf)))).toEqual([]);
  });

  it('keep the two API faces apart: /api/v1 and /fhir share code through src/api only', () => {
    expect([
      ...importsBetween(graph, 'src/api/v1', 'src/api/fhir'),
      ...importsBetween(graph, 'src/api/fhir', 'src/api/v1'),
    ]).toEqual([]);
  });

  it('keep src/domain to itself: it imports nothing of ours outside it', () => {
    expect(importsOutside(graph, 'src/domain', [])).toEqual([]);
  });

  it('keep src/util free of the rest', () => {
    expect(importsOutside(graph, 'src/util', [])).toEqual([]);
  });

  it('keep the request context at the very bottom, free of the rest, so every layer may read it', () => {
    expect(importsOutside(graph, 'src/context', [])).toEqual([]);
  });

  it('keep the store at the bottom: it uses only logging, the request context, error types and util', () => {
    expect(importsOutside(graph, 'src/store', ['src/log', 'src/context', 'src/outcome', 'src/util'])).toEqual([]);
  });

  it('keep the publisher off the request path: it uses neither auth nor audit', () => {
    expect([
      ...importsBetween(graph, 'src/publish', 'src/auth'),
      ...importsBetween(graph, 'src/publish', 'src/audit'),
    ]).toEqual([]);
  });

  it('let nothing but src/main.ts import src/api', () => {
    const offending = [...graph].flatMap(([file, targets]) =>
      file.startsWith('src/api/') || file === 'src/main.ts'
        ? []
        : targets.filter((t) => t.startsWith('src/api/')).map((t) => `${file} -> ${t}`),
    );
    expect(offending).toEqual([]);
  });
});
