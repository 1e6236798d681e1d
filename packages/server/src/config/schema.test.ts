/**
 * docs/configuration.md against config/schema.ts, both ways (as fastify's errors test holds its
 * docs to its error list): every key, variable and list-item key of the schema is in the docs'
 * tables with the schema's default, and the docs name no key or variable the schema lacks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from './defaults.js';
import { CLIENT_KEYS, CONFIG_FILE_ENV, ENV_KEYS, FEDERATION_PROVIDER_KEYS, leavesOf, pathsOf, ROUTE_KEYS, SCHEMA } from './schema.js';

const REPO = new URL('../../../../', import.meta.url);
const CONFIGURATION_MD = readFileSync(new URL('docs/configuration.md', REPO), 'utf8');

/** The cells of each row of the first table after `## heading` (header and rule rows left out). */
function tableAfter(doc: string, heading: string): string[][] {
  const start = doc.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no heading ${heading}`);
  const lines = doc.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(' | ').map((c) => c.trim()));
  }
  return rows;
}

/** The text of the first code span of a cell: "`8080` (x)" -> "8080". */
const code = (cell: string): string | undefined => /`([^`]*)`/.exec(cell)?.[1];

/** The markdown files people read for configuration. */
function docFiles(): URL[] {
  return [
    ...readdirSync(new URL('docs/', REPO)).filter((f) => f.endsWith('.md')).map((f) => new URL(`docs/${f}`, REPO)),
    ...['README.md', 'SCALING.md', 'DEVELOPERS.md', 'BENCHMARKS.md', 'packages/sdk/README.md'].map((f) => new URL(f, REPO)),
  ];
}

describe('docs/configuration.md and the schema', () => {
  const leaves = leavesOf(SCHEMA);

  it('the Keys table lists every key of the schema and no other, each with the schema\'s default', () => {
    const rows = tableAfter(CONFIGURATION_MD, '## Keys');
    const documented = rows.map((r) => code(r[0]!));
    expect([...documented].sort()).toEqual(leaves.map((l) => l.path).sort());
    expect(new Set(documented).size).toBe(documented.length);
    const wrongDefault: string[] = [];
    for (const { path, leaf } of leaves) {
      const cell = rows.find((r) => code(r[0]!) === path)![1]!;
      const same = leaf.defaultDoc !== undefined ? cell === leaf.defaultDoc : JSON.stringify(JSON.parse(code(cell) ?? 'undefined')) === JSON.stringify(leaf.default);
      if (!same) wrongDefault.push(`${path}: docs say ${cell}, schema ${leaf.defaultDoc ?? JSON.stringify(leaf.default)}`);
    }
    expect(wrongDefault).toEqual([]);
  });

  it('the environment table lists every variable of the schema with its key, and GATEHOUSE_CONFIG', () => {
    const rows = tableAfter(CONFIGURATION_MD, '## Environment variables').map((r) => [code(r[0]!), code(r[1]!) ?? r[1]]);
    const expected = [...ENV_KEYS.map((e) => [e.env, e.path]), [CONFIG_FILE_ENV.name, '—']];
    const sort = (l: (string | undefined)[][]) => [...l].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(sort(rows)).toEqual(sort(expected));
    expect(Object.keys(ENV_VARS).sort()).toEqual(expected.map((e) => e[0]).sort());
  });

  it('the Routes, Introspection clients and Federation providers tables list every item key the parsers take, and no other', () => {
    expect(tableAfter(CONFIGURATION_MD, '## Federation providers').map((r) => code(r[0]!))).toEqual(FEDERATION_PROVIDER_KEYS.map((k) => `federation.providers[].${k}`));
    expect(tableAfter(CONFIGURATION_MD, '## Routes').map((r) => code(r[0]!))).toEqual(ROUTE_KEYS.map((k) => `routes[].${k}`));
    expect(tableAfter(CONFIGURATION_MD, '## Introspection clients').map((r) => code(r[0]!))).toEqual(CLIENT_KEYS.map((k) => `introspection.clients[].${k}`));
  });

  it('no page names a key or variable the schema lacks', () => {
    const groups = Object.entries(SCHEMA).filter(([, n]) => n.kind === 'group').map(([k]) => k);
    const keyRe = new RegExp(`\`((?:${groups.join('|')})\\.[\\w.]+)\``, 'g');
    const paths = new Set(pathsOf(SCHEMA));
    // Names of another kind that look like keys: the security event types; the README's example
    // service's own variable (where it reaches the gateway).
    const notKeys = new Set(['signin.failure', 'signin.success', 'signin.mfa_failure', 'password.set', 'federation.signup_refused', 'GATEHOUSE_URL', 'users.findById', 'password.reset', 'password.reset_requested', 'password.reset_link_created', 'password.change_required', 'email.added', 'email.verified', 'email.removed', 'email.sent', 'email.failed', 'admin.action', 'session.removed', 'password.changed', 'mfa.totp_added', 'mfa.totp_removed', 'mfa.recovery_codes_generated']);
    const envs = new Set(Object.keys(ENV_VARS));
    const unknown: string[] = [];
    for (const file of docFiles()) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(keyRe)) if (!paths.has(m[1]!) && !notKeys.has(m[1]!)) unknown.push(`${file.pathname}: ${m[1]}`);
      for (const m of text.matchAll(/\bGATEHOUSE_[A-Z_]+\b/g)) if (!envs.has(m[0]) && !notKeys.has(m[0])) unknown.push(`${file.pathname}: ${m[0]}`);
    }
    expect(unknown).toEqual([]);
  });
});

describe('the schema', () => {
  it('every key has one line of documentation, and a default within its range', () => {
    for (const { path, leaf } of leavesOf(SCHEMA)) {
      expect(leaf.doc, path).toMatch(/^[A-Z`"].{10,}[.)]$/);
      expect(leaf.doc, path).not.toContain('\n');
      if (leaf.min !== undefined) expect(leaf.default as number, path).toBeGreaterThanOrEqual(leaf.min);
      if (leaf.max !== undefined) expect(leaf.default as number, path).toBeLessThanOrEqual(leaf.max);
    }
  });
});
