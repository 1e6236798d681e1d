import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The import graph of the server's production code (what `tsc -b` compiles: no tests, test
 * helpers or contract suites), read with TypeScript's own pre-processor, so `import type`,
 * `export … from` and `import()` count like any import: a type-only cycle is a cycle.
 * (A test rather than eslint-plugin-import-x's `no-cycle`: that needs a second plugin to resolve
 * `.js` specifiers to `.ts` files, and re-parses every file per rule; this needs nothing new.)
 */
const SRC = dirname(fileURLToPath(import.meta.url));
const isProduction = (rel: string): boolean =>
  rel.endsWith('.ts') && !/\.test\.ts$|test-helpers\.ts$|\.case\.ts$/.test(rel) && !rel.split('/').includes('contract');

function productionFiles(dir = SRC): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...productionFiles(path));
    else if (isProduction(relative(SRC, path))) out.push(relative(SRC, path));
  }
  return out.sort();
}

interface Graph {
  /** file -> the files it imports (paths relative to src, `.ts`). */
  edges: Map<string, string[]>;
  /** Relative specifiers that name no file. */
  unresolved: string[];
}

function importGraph(): Graph {
  const edges = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const file of productionFiles()) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(SRC, file), 'utf8'), true, true);
    const targets: string[] = [];
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue; // a package
      const target = relative(SRC, resolve(SRC, dirname(file), fileName.replace(/\.js$/, '.ts')));
      if (existsSync(join(SRC, target))) targets.push(target);
      else unresolved.push(`${file}: ${fileName}`);
    }
    edges.set(file, targets);
  }
  return { edges, unresolved };
}

/** Strongly connected components of more than one file, or a file importing itself (Tarjan). */
function cycles(edges: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

const imports = (graph: Graph, from: (f: string) => boolean, to: (f: string) => boolean): string[] =>
  [...graph.edges].flatMap(([f, targets]) => (from(f) ? targets.filter(to).map((t) => `${f} -> ${t}`) : [])).sort();
const under = (dir: string) => (f: string) => f.startsWith(`${dir}/`);

/**
 * The only production imports of gateway/ from auth/, each with its reason. The gateway speaks to
 * the auth service through credentials/ (token formats and verification, header names, audience).
 */
const GATEWAY_FROM_AUTH_ALLOWED = [
  // gatehouse start runs both in one process: the gateway's /metrics merges the auth service's
  // registry, which auth-metrics keeps per Deps.
  'gateway/local-endpoints.ts -> auth/auth-metrics.ts',
];

/** What credentials/ may build on: the layers below both the gateway and the auth service. */
const CREDENTIALS_MAY_IMPORT = (f: string): boolean =>
  ['credentials/', 'crypto/', 'config/', 'errors/', 'util/'].some((d) => f.startsWith(d)) || f === 'stores/types.ts' || f === 'context.ts';

/**
 * The layers of packages/server/src, top to bottom: a file may import its own folder and any
 * layer below its own, never one above. gateway/ and auth/ are peers (the two roles), which
 * speak through credentials/ below both; the rule between them is the allow-list above.
 * context.ts (the Deps type every layer is handed) may be imported from anywhere; what it
 * imports is types only.
 */
const LAYERS: readonly (readonly string[])[] = [['cli'], ['start'], ['gateway', 'auth'], ['credentials'], ['crypto'], ['stores'], ['config'], ['errors', 'util']];
const layerOf = (f: string): number => LAYERS.findIndex((names) => names.includes(f.split('/')[0]!));

/**
 * Imports of a higher layer from a lower one, each with its reason: configuration refuses the
 * names the credentials reserve, and the names live with the credentials they belong to.
 */
const UPWARD_ALLOWED = [
  // No configured route may use the auth service's name (its passports' audience).
  'config/list-items.ts -> credentials/auth-service.ts',
  // `account` may not be a default token scope.
  'config/load-config.ts -> credentials/scope.ts',
];

describe('import graph of packages/server/src', () => {
  const graph = importGraph();

  it('is read completely: every relative import resolves, type-only ones included', () => {
    expect(graph.unresolved).toEqual([]);
    expect(graph.edges.size).toBeGreaterThan(100);
    // context.ts imports only types: the walker must see them.
    expect(graph.edges.get('context.ts')).toContain('stores/types.ts');
  });

  it('has no import cycle, not even a type-only one', () => {
    expect(cycles(graph.edges)).toEqual([]);
  });

  it('credentials/ imports nothing from gateway/, auth/ or above: only crypto/, config/, errors/, util/, stores/types.ts, context.ts', () => {
    expect(imports(graph, under('credentials'), (t) => !CREDENTIALS_MAY_IMPORT(t))).toEqual([]);
  });

  it('gateway/ imports from auth/ only what is listed, with its reason', () => {
    expect(imports(graph, under('gateway'), under('auth'))).toEqual(GATEWAY_FROM_AUTH_ALLOWED);
  });

  it('imports run down the layers (cli → start → gateway/auth → credentials → crypto → stores → config → errors/util), but for the listed exceptions', () => {
    const files = [...graph.edges.keys()].filter((f) => f.includes('/'));
    expect(files.filter((f) => layerOf(f) < 0)).toEqual([]); // every top folder has its layer
    const upward = imports(
      graph,
      (f) => f.includes('/'),
      () => true,
    ).filter((edge) => {
      const [from, to] = edge.split(' -> ') as [string, string];
      return to !== 'context.ts' && to.includes('/') && layerOf(to) < layerOf(from);
    });
    expect(upward).toEqual(UPWARD_ALLOWED);
  });

  it('context.ts imports types only', () => {
    const text = readFileSync(join(SRC, 'context.ts'), 'utf8');
    const valueImports = text.split('\n').filter((l) => /^import (?!type )/.test(l));
    expect(valueImports).toEqual([]);
  });

  it('finds a cycle when there is one (the check itself)', () => {
    const planted = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['d.ts']],
      ['e.ts', ['a.ts']],
    ]);
    expect(cycles(planted)).toEqual([['a.ts', 'b.ts', 'c.ts'], ['d.ts']]);
  });
});
