import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_REGISTRY, GatehouseError, StoreUnavailableError, toProblem } from './index.js';

const srcDir = fileURLToPath(new URL('..', import.meta.url));

/** docs/errors.md's table of codes: [code, status] of each row. */
function errorsTable(): [string, number][] {
  const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
  return [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('error registry', () => {
  it('has snake_case codes, error statuses and a title for each', () => {
    for (const [code, e] of Object.entries(ERROR_REGISTRY)) {
      expect(code).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(e.status).toBeLessThan(600);
      expect(e.title.length).toBeGreaterThan(3);
    }
  });

  it('is the only source of codes: every GatehouseError in the code base uses a registered code', () => {
    const used = new Set<string>();
    for (const f of sourceFiles(srcDir)) {
      for (const m of readFileSync(f, 'utf8').matchAll(/new GatehouseError\(\s*'([^']+)'/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(5);
    for (const code of used) expect(Object.keys(ERROR_REGISTRY)).toContain(code);
  });

  it('docs/errors.md lists every code with its status, and no code the registry lacks', () => {
    const registered = Object.entries(ERROR_REGISTRY).map(([code, e]): [string, number] => [code, e.status]);
    const sort = (l: [string, number][]) => [...l].sort((a, b) => a[0].localeCompare(b[0]));
    expect(sort(errorsTable())).toEqual(sort(registered));
  });
});

describe('toProblem', () => {
  it('keeps the detail of client errors', () => {
    const { problem, headers } = toProblem(new GatehouseError('rate_limited', { detail: 'Wait 30 s.', headers: { 'retry-after': '30' } }));
    expect(problem).toEqual({ type: 'urn:gatehouse:error:rate_limited', title: 'Too many requests', status: 429, detail: 'Wait 30 s.', code: 'rate_limited' });
    expect(headers).toEqual({ 'retry-after': '30' });
  });

  it('shows nothing of an unexpected error: no message, no stack, no cause', () => {
    const secret = new Error('SQLITE_CORRUPT at /var/lib/x kysely stack');
    const { problem } = toProblem(secret);
    expect(problem).toEqual({ type: 'urn:gatehouse:error:internal', title: 'Internal error', status: 500, detail: 'Internal error', code: 'internal' });
    const wrapped = toProblem(new GatehouseError('internal', { detail: 'db password is hunter2', cause: secret }));
    expect(JSON.stringify(wrapped.problem)).not.toContain('hunter2');
  });

  it('says 503 unavailable for a store outage without the cause', () => {
    const { problem } = toProblem(new StoreUnavailableError('sessions', new Error('ECONNREFUSED 10.0.0.5')));
    expect(problem.status).toBe(503);
    expect(problem.code).toBe('unavailable');
    expect(JSON.stringify(problem)).not.toContain('ECONNREFUSED');
  });
});
