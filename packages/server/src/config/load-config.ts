import { readFileSync } from 'node:fs';
import { ACCOUNT_SCOPE } from '../credentials/scope.js';
import { nearest } from '../util/nearest.js';
import { ConfigError } from './config-error.js';
import { jsonErrorPosition } from './json-error.js';
import { federationSecretProblem, parseFederationProviders, parseIntrospectionClients, parseRoutes } from './list-items.js';
import { CONFIG_FILE_ENV, defaultsOf, isNumericLeaf, leavesOf, pathsOf, RELATIONS, SCHEMA, type Keys, type Leaf, type ListItemKind } from './schema.js';
import type { GatehouseConfig } from './types.js';

export { ConfigError };

/**
 * Loading and validation, all of it driven by schema.ts: which keys exist, their types, ranges
 * and choices, their environment variables. Only the list items (routes, introspection clients)
 * have parsers of their own (list-items.ts).
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const LIST_PARSERS: Record<ListItemKind, (value: unknown) => unknown[]> = {
  route: parseRoutes,
  introspectionClient: parseIntrospectionClients,
  federationProvider: parseFederationProviders,
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

const isWholeNumber = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** A value from the config file for `leaf`, checked against its type (ranges come later, with every source read). */
function fromFile(leaf: Leaf<unknown>, path: string, value: unknown): unknown {
  const wrong = (what: string, got = describe(value)) => new ConfigError(`Config key "${path}" must be ${what}, got ${got}.`);
  switch (leaf.type) {
    case 'int':
    case 'port':
      if (!isWholeNumber(value)) throw wrong('a whole number >= 0', JSON.stringify(value));
      return value;
    case 'nullablePort':
      if (value !== null && !(isWholeNumber(value) && value <= 65535)) throw wrong('a port (0..65535) or null');
      return value;
    case 'string':
    case 'choice':
      if (typeof value !== 'string') throw wrong('a string');
      return value;
    case 'nullableString':
      if (value !== null && typeof value !== 'string') throw wrong('a string or null');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw wrong('a boolean');
      return value;
    case 'strings':
      if (!Array.isArray(value) || value.some((x) => typeof x !== 'string')) throw new ConfigError(`Config key "${path}" must be an array of strings.`);
      return [...(value as string[])];
    case 'list':
      return LIST_PARSERS[leaf.item!](value);
  }
}

/** Merges the config file's `input` into `target` following `keys`, naming any bad key. */
function mergeChecked(target: Record<string, unknown>, keys: Keys, input: Record<string, unknown>, prefix: string): void {
  for (const [key, value] of Object.entries(input)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (!Object.prototype.hasOwnProperty.call(keys, key)) {
      throw new ConfigError(`Unknown config key "${path}"${didYouMean(key, prefix, keys)}. See docs/configuration.md for the keys Gatehouse reads.`);
    }
    const node = keys[key]!;
    if (node.kind === 'group') {
      if (!isPlainObject(value)) throw new ConfigError(`Config key "${path}" must be an object, got ${describe(value)}.`);
      const sub = { ...(target[key] as Record<string, unknown>) };
      mergeChecked(sub, node.keys, value, path);
      target[key] = sub;
    } else {
      target[key] = fromFile(node, path, value);
    }
  }
}

/**
 * ` (did you mean "x"?)` for an unknown key: the nearest key beside it, else a key of the same
 * name (or nearly) elsewhere, e.g. "slidingTtlSec" at the top level is "session.slidingTtlSec".
 */
function didYouMean(key: string, prefix: string, siblings: Keys): string {
  const sibling = nearest(key, Object.keys(siblings));
  if (sibling !== undefined) return ` (did you mean "${prefix ? `${prefix}.` : ''}${sibling}"?)`;
  const lastSegments = new Map(pathsOf(SCHEMA).map((p) => [p.slice(p.lastIndexOf('.') + 1), p]));
  const elsewhere = nearest(key, lastSegments.keys());
  return elsewhere !== undefined ? ` (did you mean "${lastSegments.get(elsewhere)}"?)` : '';
}

function intFromEnv(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}.`);
  }
  return Number(raw);
}

/** The bounds of a number key: ports 0..65535, other numbers `min`/`max` of the schema (>= 0 always). */
function boundsOf(leaf: Leaf<unknown>): { min: number; max: number } {
  if (leaf.type === 'port' || leaf.type === 'nullablePort') return { min: 0, max: 65535 };
  return { min: leaf.min ?? 0, max: leaf.max ?? Number.MAX_SAFE_INTEGER };
}

/**
 * How messages name a key: its path, and its environment variable where that is read as text
 * (a number variable is checked as it is read, naming itself).
 */
function labelOf(path: string, leaf: Leaf<unknown>): string {
  return leaf.env && !isNumericLeaf(leaf) ? `${path} (${leaf.env})` : path;
}

function orList(values: readonly string[]): string {
  const quoted = values.map((v) => JSON.stringify(v));
  return quoted.length < 2 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

/** The message when a final value breaks its key's range or choice, else undefined. */
function rangeProblem(leaf: Leaf<unknown>, label: string, value: unknown): string | undefined {
  if (leaf.type === 'choice') {
    return leaf.values!.includes(value as string) ? undefined : `${label} must be ${leaf.mustBe ?? orList(leaf.values!)}, got ${JSON.stringify(value)}.`;
  }
  if (leaf.type === 'port') return (value as number) > 65535 ? `${label} must be 0..65535, got ${String(value)}.` : undefined;
  if (leaf.type !== 'int' || (leaf.min === undefined && leaf.max === undefined)) return undefined;
  const n = value as number;
  if ((leaf.min === undefined || n >= leaf.min) && (leaf.max === undefined || n <= leaf.max)) return undefined;
  const suffix = leaf.suffix ?? '';
  if (leaf.mustBe !== undefined) return `${label} must be ${leaf.mustBe}${suffix}.`;
  if (leaf.min !== undefined && leaf.max !== undefined) return `${label} must be ${leaf.min}..${leaf.max}${suffix}.`;
  return leaf.min !== undefined ? `${label} must be at least ${leaf.min}${suffix}.` : `${label} must be at most ${leaf.max}${suffix}.`;
}

/** Sets the key at `path` of `config`. */
function setPath(config: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at = config;
  for (const p of parts.slice(0, -1)) at = at[p] as Record<string, unknown>;
  at[parts.at(-1)!] = value;
}

function getPath(config: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((at, p) => (at as Record<string, unknown>)[p], config);
}

/** The environment over the file: every key with a variable that is set and not empty. */
function applyEnv(config: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  for (const { path, leaf } of leavesOf(SCHEMA)) {
    const raw = leaf.env === undefined ? undefined : env[leaf.env];
    if (raw === undefined || raw === '') continue;
    if (isNumericLeaf(leaf)) {
      const { min, max } = boundsOf(leaf);
      setPath(config, path, intFromEnv(leaf.env!, raw, min, max));
    } else {
      setPath(config, path, raw);
    }
  }
}

/** Every key's own checks (normalized first), in schema order, then the checks of keys together. */
function checkFinal(c: GatehouseConfig, env: NodeJS.ProcessEnv): void {
  const config = c as unknown as Record<string, unknown>;
  for (const { path, leaf } of leavesOf(SCHEMA)) {
    let value = getPath(config, path);
    if (leaf.normalize) {
      value = leaf.normalize(value);
      setPath(config, path, value);
    }
    const label = labelOf(path, leaf);
    const problem = rangeProblem(leaf, label, value) ?? leaf.check?.(value, label);
    if (problem !== undefined) throw new ConfigError(problem);
  }
  // `account` is the token module's scope: the schema, below it, cannot name it.
  if (c.tokens.defaultScopes.includes(ACCOUNT_SCOPE)) {
    throw new ConfigError('tokens.defaultScopes: "account" is never a default; a token gets it only when asked for by name (docs/configuration.md, Bearer credentials).');
  }
  for (const relation of RELATIONS) {
    const problem = relation(c);
    if (problem !== undefined) throw new ConfigError(problem);
  }
  // The one check that reads the environment beyond the keys' own variables.
  const secretProblem = federationSecretProblem(c.federation.providers, env);
  if (secretProblem !== undefined) throw new ConfigError(secretProblem);
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides from command-line flags, applied last (`workers`: gateway.workers). */
  overrides?: Partial<Pick<GatehouseConfig, 'port' | 'host' | 'dataDir' | 'publicUrl' | 'authPort'>> & { workers?: string };
}

/** Defaults <- config file (GATEHOUSE_CONFIG) <- environment <- flags. Throws ConfigError naming the bad key. */
export function loadConfig(options: LoadConfigOptions = {}): GatehouseConfig {
  const env = options.env ?? process.env;
  const config = defaultsOf(SCHEMA) as Record<string, unknown>;
  const file = env[CONFIG_FILE_ENV.name];
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`Cannot read the config file named by GATEHOUSE_CONFIG (${file}): ${(err as NodeJS.ErrnoException).code ?? 'error'}.`);
    }
    let json: Json;
    try {
      json = JSON.parse(text) as Json;
    } catch {
      // V8's message may quote the file (several lines of it) and often names no position.
      const at = jsonErrorPosition(text);
      const where = at ? `line ${at.line}, column ${at.column}` : 'somewhere';
      throw new ConfigError(
        at?.atEnd
          ? `The config file ${file} is not valid JSON: it ends too early, at ${where} (a missing "}", "]" or quote?).`
          : `The config file ${file} is not valid JSON: unexpected ${JSON.stringify(text[at?.offset ?? 0])} at ${where}.`,
      );
    }
    if (!isPlainObject(json)) throw new ConfigError(`The config file ${file} must hold a JSON object.`);
    mergeChecked(config, SCHEMA, json, '');
  }
  applyEnv(config, env);
  const c = config as unknown as GatehouseConfig;
  const o = options.overrides ?? {};
  if (o.port !== undefined) c.port = o.port;
  if (o.host !== undefined) c.host = o.host;
  if (o.dataDir !== undefined) c.dataDir = o.dataDir;
  if (o.publicUrl !== undefined) c.publicUrl = o.publicUrl;
  if (o.authPort !== undefined) c.authPort = o.authPort;
  if (o.workers !== undefined) c.gateway.workers = o.workers;
  checkFinal(c, env);
  return c;
}
