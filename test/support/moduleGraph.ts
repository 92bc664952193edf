import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Files by path relative to the repository root (`src/api/app.ts`), each with the files it imports. */
export type ModuleGraph = ReadonlyMap<string, readonly string[]>;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(full);
    return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Every module specifier a file names: imports and re-exports (type-only ones too), `import x = require()`, `import()`. */
function specifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) found.push(expression.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteral(argument)) found.push(argument.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) found.push(literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * The file-level import graph of every .ts file under `dir` (relative imports only: packages are
 * not ours). Sources import `./x.js` for `./x.ts`; an import that names no file is an error, so a
 * graph never silently drops an edge.
 */
export function moduleGraph(root: string, dir = 'src'): ModuleGraph {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(path.join(root, dir))) {
    const from = path.relative(root, file);
    const targets = specifiers(file)
      .filter((s) => s.startsWith('.'))
      .map((s) => {
        const resolved = path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts'));
        const candidates = [resolved, `${resolved}.ts`, path.join(resolved, 'index.ts')];
        const hit = candidates.find((c) => statSync(c, { throwIfNoEntry: false })?.isFile());
        if (!hit) throw new Error(`${from} imports ${s}, which names no file`);
        return path.relative(root, hit);
      });
    graph.set(from, [...new Set(targets)]);
  }
  return graph;
}

/** Each import cycle as the files along it, the first file repeated at the end; empty when there is none. */
export function importCycles(graph: ModuleGraph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/** The graph between groups of files (`group` names a file's group), without edges inside a group. */
export function groupGraph(graph: ModuleGraph, group: (file: string) => string): ModuleGraph {
  const groups = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    const edges = groups.get(group(from)) ?? new Set<string>();
    groups.set(group(from), edges);
    for (const to of targets) if (group(to) !== group(from)) edges.add(group(to));
  }
  return new Map([...groups].map(([g, edges]) => [g, [...edges].sort()]));
}
