import { readFileSync } from 'node:fs';
import { ACCOUNT_SCOPE } from '../credentials/scope.js';
import { checkAllowedHost } from './allowed-hosts.js';
import { nearest } from '../util/nearest.js';
import { DEFAULTS } from './defaults.js';
import { jsonErrorPosition } from './json-error.js';
import { parseTrustedProxies } from './trusted-proxies.js';
import type { GatehouseConfig, IntrospectionClient, RouteConfig } from './types.js';
import { AUTH_SERVICE } from '../credentials/auth-service.js';

/** A configuration problem, with the key path that is wrong and what to do about it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const ROUTE_KEYS = new Set(['path', 'upstream', 'service', 'auth', 'roles', 'scopes', 'contentTypes', 'maxBodyBytes']);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** Merges `input` into `target` following the shape of `shape` (the defaults), naming any bad key. */
function mergeChecked(target: Record<string, unknown>, shape: Record<string, unknown>, input: Record<string, unknown>, prefix: string): void {
  for (const [key, value] of Object.entries(input)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (path === 'routes') {
      target.routes = parseRoutes(value);
      continue;
    }
    if (path === 'adminPort') {
      if (value !== null && (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535)) {
        throw new ConfigError(`Config key "adminPort" must be a port (0..65535) or null, got ${describe(value)}.`);
      }
      target.adminPort = value;
      continue;
    }
    if (path === 'introspection.clients') {
      target.clients = parseIntrospectionClients(value);
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(shape, key)) {
      throw new ConfigError(`Unknown config key "${path}"${didYouMean(key, prefix, shape)}. See docs/configuration.md for the keys Gatehouse reads.`);
    }
    const def = shape[key];
    if (isPlainObject(def)) {
      if (!isPlainObject(value)) throw new ConfigError(`Config key "${path}" must be an object, got ${describe(value)}.`);
      const sub = { ...(target[key] as Record<string, unknown>) };
      mergeChecked(sub, def, value, path);
      target[key] = sub;
    } else if (Array.isArray(def)) {
      if (!Array.isArray(value) || value.some((x) => typeof x !== 'string')) {
        throw new ConfigError(`Config key "${path}" must be an array of strings.`);
      }
      target[key] = [...value];
    } else if (def === null) {
      if (value !== null && typeof value !== 'string') {
        throw new ConfigError(`Config key "${path}" must be a string or null, got ${describe(value)}.`);
      }
      target[key] = value;
    } else if (typeof def === 'number') {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || !Number.isInteger(value)) {
        throw new ConfigError(`Config key "${path}" must be a whole number >= 0, got ${JSON.stringify(value)}.`);
      }
      target[key] = value;
    } else if (typeof value !== typeof def) {
      throw new ConfigError(`Config key "${path}" must be a ${typeof def}, got ${describe(value)}.`);
    } else {
      target[key] = value;
    }
  }
}

/** Every key path of the defaults, objects included: "session", "session.slidingTtlSec", ... */
function keyPaths(shape: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(shape).flatMap(([k, v]) => [`${prefix}${k}`, ...(isPlainObject(v) ? keyPaths(v, `${prefix}${k}.`) : [])]);
}

/**
 * ` (did you mean "x"?)` for an unknown key: the nearest key beside it, else a key of the same
 * name (or nearly) elsewhere, e.g. "slidingTtlSec" at the top level is "session.slidingTtlSec".
 */
function didYouMean(key: string, prefix: string, shape: Record<string, unknown>): string {
  const sibling = nearest(key, Object.keys(shape));
  if (sibling !== undefined) return ` (did you mean "${prefix ? `${prefix}.` : ''}${sibling}"?)`;
  const paths = keyPaths(DEFAULTS as unknown as Record<string, unknown>);
  const lastSegments = new Map(paths.map((p) => [p.slice(p.lastIndexOf('.') + 1), p]));
  const elsewhere = nearest(key, lastSegments.keys());
  return elsewhere !== undefined ? ` (did you mean "${lastSegments.get(elsewhere)}"?)` : '';
}

/** ` (did you mean "x"?)` for an unknown key of a list item (a route, a client). */
function didYouMeanOf(key: string, known: Iterable<string>): string {
  const near = nearest(key, known);
  return near !== undefined ? ` (did you mean "${near}"?)` : '';
}

const SERVICE_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

function parseRoutes(value: unknown): RouteConfig[] {
  if (!Array.isArray(value)) throw new ConfigError('Config key "routes" must be an array of route objects.');
  return value.map((r, i) => parseRoute(r, `routes[${i}]`));
}

function parseRoute(r: unknown, at: string): RouteConfig {
  if (!isPlainObject(r)) throw new ConfigError(`Config key "${at}" must be an object.`);
  for (const k of Object.keys(r)) {
    if (!ROUTE_KEYS.has(k)) throw new ConfigError(`Unknown config key "${at}.${k}"${didYouMeanOf(k, ROUTE_KEYS)}. A route takes: ${[...ROUTE_KEYS].join(', ')}.`);
  }
  const str = (k: string): string => {
    const v = r[k];
    if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`Config key "${at}.${k}" is required and must be a non-empty string.`);
    return v;
  };
  const path = str('path');
  if (!path.startsWith('/') || path.includes('..') || path.includes('//') || /[?#%\s]/.test(path) || (path.length > 1 && path.endsWith('/'))) {
    throw new ConfigError(`Config key "${at}.path" must be an absolute path prefix like "/api/orders" (no trailing slash, "..", "?", "#" or "%"), got ${JSON.stringify(path)}.`);
  }
  if (path === '/auth' || path.startsWith('/auth/') || path.startsWith('/.well-known')) {
    throw new ConfigError(`Config key "${at}.path" (${path}) is reserved for Gatehouse itself.`);
  }
  const upstream = str('upstream');
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new ConfigError(`Config key "${at}.upstream" must be a URL like "http://127.0.0.1:9000", got ${JSON.stringify(upstream)}.`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username) {
    throw new ConfigError(`Config key "${at}.upstream" must be an http(s) origin without path, query or credentials (the route path is kept when proxying), got ${JSON.stringify(upstream)}.`);
  }
  const service = str('service');
  if (!SERVICE_RE.test(service)) throw new ConfigError(`Config key "${at}.service" must be a short name of letters, digits, ".", "_" or "-", got ${JSON.stringify(service)}.`);
  if (service === AUTH_SERVICE) {
    // A passport minted for this route would be one the auth service accepts (aud "auth"):
    // its upstream could replay it there as the user, within the passport's lifetime.
    throw new ConfigError(`Config key "${at}.service": "${AUTH_SERVICE}" is reserved, the passport audience of the auth service; choose another name.`);
  }
  const auth = r.auth ?? 'required';
  if (auth !== 'required' && auth !== 'optional' && auth !== 'none') {
    throw new ConfigError(`Config key "${at}.auth" must be "required", "optional" or "none", got ${JSON.stringify(auth)}.`);
  }
  const route: RouteConfig = { path, upstream: url.origin, service, auth };
  const strings = (k: string): string[] | undefined => {
    const v = r[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.length === 0)) {
      throw new ConfigError(`Config key "${at}.${k}" must be an array of non-empty strings.`);
    }
    return v as string[];
  };
  const roles = strings('roles');
  if (roles) route.roles = roles;
  const contentTypes = strings('contentTypes');
  if (contentTypes) route.contentTypes = contentTypes.map((c) => c.toLowerCase());
  if (r.scopes !== undefined) {
    if (!isPlainObject(r.scopes)) throw new ConfigError(`Config key "${at}.scopes" must be an object of METHOD -> [scopes].`);
    const scopes: Record<string, string[]> = {};
    for (const [method, list] of Object.entries(r.scopes)) {
      if (method !== '*' && !/^[A-Z]+$/.test(method)) throw new ConfigError(`Config key "${at}.scopes.${method}" must be an upper-case HTTP method or "*".`);
      if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(x))) {
        throw new ConfigError(`Config key "${at}.scopes.${method}" must be an array of scope strings.`);
      }
      scopes[method] = list as string[];
    }
    route.scopes = scopes;
  }
  if (r.maxBodyBytes !== undefined) {
    if (typeof r.maxBodyBytes !== 'number' || !Number.isInteger(r.maxBodyBytes) || r.maxBodyBytes < 0) {
      throw new ConfigError(`Config key "${at}.maxBodyBytes" must be a whole number of bytes.`);
    }
    route.maxBodyBytes = r.maxBodyBytes;
  }
  return route;
}

const CLIENT_KEYS = new Set(['id', 'secretSha256']);

function parseIntrospectionClients(value: unknown): IntrospectionClient[] {
  if (!Array.isArray(value)) throw new ConfigError('Config key "introspection.clients" must be an array of {"id", "secretSha256"} objects.');
  const seen = new Set<string>();
  return value.map((c, i) => {
    const at = `introspection.clients[${i}]`;
    if (!isPlainObject(c)) throw new ConfigError(`Config key "${at}" must be an object.`);
    for (const k of Object.keys(c)) {
      if (!CLIENT_KEYS.has(k)) throw new ConfigError(`Unknown config key "${at}.${k}"${didYouMeanOf(k, CLIENT_KEYS)}. A client takes: id, secretSha256.`);
    }
    const { id, secretSha256 } = c;
    if (typeof id !== 'string' || !/^[\x21-\x39\x3b-\x7e]{1,128}$/.test(id)) {
      throw new ConfigError(`Config key "${at}.id" must be 1 to 128 printable characters without spaces or ":".`);
    }
    if (seen.has(id)) throw new ConfigError(`Two introspection clients have the id ${JSON.stringify(id)}.`);
    seen.add(id);
    if (typeof secretSha256 !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(secretSha256)) {
      throw new ConfigError(
        `Config key "${at}.secretSha256" must be the base64url SHA-256 of the secret (43 characters), e.g. from: printf %s "$SECRET" | openssl dgst -sha256 -binary | basenc --base64url | tr -d =`,
      );
    }
    return { id, secretSha256 };
  });
}

const SCOPE_TOKEN_RE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function intFromEnv(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}.`);
  }
  return Number(raw);
}

function checkFinal(c: GatehouseConfig): void {
  if (c.publicUrl !== null) {
    let u: URL;
    try {
      u = new URL(c.publicUrl);
    } catch {
      throw new ConfigError(`publicUrl (GATEHOUSE_PUBLIC_URL) must be a URL like "https://auth.example.com", got ${JSON.stringify(c.publicUrl)}.`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError('publicUrl (GATEHOUSE_PUBLIC_URL) must be http or https.');
  }
  if (c.port > 65535) throw new ConfigError(`port must be 0..65535, got ${c.port}.`);
  if (c.metrics.bearerSecret !== null && c.metrics.bearerSecret.length < 32) throw new ConfigError('metrics.bearerSecret (GATEHOUSE_METRICS_BEARER_SECRET) must be at least 32 characters (openssl rand -base64 32).');
  if (!['auto', 'json', 'pretty'].includes(c.log.format)) throw new ConfigError(`log.format (GATEHOUSE_LOG_FORMAT) must be auto, json or pretty, got ${JSON.stringify(c.log.format)}.`);
  if (!LOG_LEVELS.includes(c.logLevel)) throw new ConfigError(`logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(c.logLevel)}.`);
  if (c.passport.ttlSec < 1 || c.passport.ttlSec > 60) throw new ConfigError('passport.ttlSec must be 1..60 seconds.');
  if (c.passport.renewBeforeSec >= c.passport.ttlSec) throw new ConfigError('passport.renewBeforeSec must be less than passport.ttlSec.');
  if (c.session.slidingTtlSec > c.session.absoluteTtlSec) throw new ConfigError('session.slidingTtlSec must not exceed session.absoluteTtlSec.');
  if (c.password.minLength < 8) throw new ConfigError('password.minLength must be at least 8 (NIST SP 800-63B).');
  if (c.password.maxLength < 1024) throw new ConfigError('password.maxLength must be at least 1024.');
  if (c.password.maxConcurrentHashes < 1) throw new ConfigError('password.maxConcurrentHashes must be at least 1.');
  // Whole and >= 0 is checked with every number key; the nice scale ends at 19.
  if (c.password.hashNice > 19) throw new ConfigError('password.hashNice must be from 0 (the priority of request handling) to 19 (lowest).');
  if (c.password.maxHashWaitMs < 100 || c.password.maxHashWaitMs > 60_000) throw new ConfigError('password.maxHashWaitMs must be 100..60000 ms.');
  if (c.tokens.accessTokenTtlSec < 60 || c.tokens.accessTokenTtlSec > 3600) throw new ConfigError('tokens.accessTokenTtlSec must be 60..3600 seconds.');
  for (const s of c.tokens.defaultScopes) {
    if (!SCOPE_TOKEN_RE.test(s)) throw new ConfigError(`tokens.defaultScopes: ${JSON.stringify(s)} is not a scope (printable characters, no spaces, quotes or backslashes).`);
    if (s === ACCOUNT_SCOPE) throw new ConfigError('tokens.defaultScopes: "account" is never a default; a token gets it only when asked for by name (docs/configuration.md, Bearer credentials).');
  }
  for (const k of ['maxFailures', 'lockWindowSec', 'knownDeviceMaxFailures'] as const) {
    if (c.signin[k] < 1) throw new ConfigError(`signin.${k} must be at least 1.`);
  }
  if (c.signup.challenge !== 'off' && c.signup.challenge !== 'pow') {
    throw new ConfigError(`signup.challenge must be "off" or "pow", got ${JSON.stringify(c.signup.challenge)}.`);
  }
  if (c.signup.challengeMaxNumber < 1000 || c.signup.challengeMaxNumber > 10_000_000) {
    throw new ConfigError('signup.challengeMaxNumber must be 1000..10000000.');
  }
  if (c.signup.challengeTtlSec < 60 || c.signup.challengeTtlSec > 3600) throw new ConfigError('signup.challengeTtlSec must be 60..3600 seconds.');
  if (c.signup.autoChallenge.durationSec < 1) throw new ConfigError('signup.autoChallenge.durationSec must be at least 1.');
  if (c.audit.retentionDays < 1) throw new ConfigError('audit.retentionDays must be at least 1.');
  checkGatewayAndCors(c);
  checkScaleOut(c);
  const seen = new Set<string>();
  for (const r of c.routes) {
    if (seen.has(r.path)) throw new ConfigError(`Two routes have the path "${r.path}".`);
    seen.add(r.path);
  }
}

/** `gateway.trustedProxies`, `gateway.clientIpHeader` and `cors.*`. */
function checkGatewayAndCors(c: GatehouseConfig): void {
  try {
    parseTrustedProxies(c.gateway.trustedProxies);
  } catch (err) {
    throw new ConfigError(`${(err as Error).message} Use addresses like "10.0.0.1" or blocks like "10.0.0.0/8", "2001:db8::/32".`);
  }
  if (c.gateway.clientIpHeader !== 'x-forwarded-for' && c.gateway.clientIpHeader !== 'forwarded') {
    throw new ConfigError(`gateway.clientIpHeader must be "x-forwarded-for" or "forwarded", got ${JSON.stringify(c.gateway.clientIpHeader)}.`);
  }
  for (const host of c.gateway.allowedHosts) {
    const why = checkAllowedHost(host);
    if (why !== undefined) throw new ConfigError(`gateway.allowedHosts: ${JSON.stringify(host)} ${why}; list hosts like "gatehouse.example.com" or "10.0.0.5:8080", or "*" for any.`);
  }
  for (const origin of c.cors.origins) {
    if (!isSerializedOrigin(origin)) throw new ConfigError(`cors.origins: ${JSON.stringify(origin)} is not an origin; list exact origins like "https://app.example.com" (no path, no trailing slash, no "*").`);
  }
  const g = c.gateway;
  if (g.headersTimeoutMs < 1) throw new ConfigError('gateway.headersTimeoutMs must be at least 1.');
  if (g.requestTimeoutMs !== 0 && g.requestTimeoutMs < g.headersTimeoutMs) {
    throw new ConfigError('gateway.requestTimeoutMs must be 0 (no limit) or at least gateway.headersTimeoutMs (the headers are part of the request).');
  }
  if (c.cors.maxAgeSec > 86_400) throw new ConfigError('cors.maxAgeSec must be at most 86400.');
}

/** Whether `value` is an origin as browsers send it: `scheme://host[:port]`, nothing else. */
function isSerializedOrigin(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
}

/** The store and role URLs. Messages never echo a URL: it may carry a password. */
function checkScaleOut(c: GatehouseConfig): void {
  const protocolOf = (url: string): string | null => {
    try {
      return new URL(url).protocol;
    } catch {
      return null;
    }
  };
  if (c.databaseUrl !== null) {
    const p = protocolOf(c.databaseUrl);
    if (p !== 'postgres:' && p !== 'postgresql:') throw new ConfigError('databaseUrl (GATEHOUSE_DATABASE_URL) must be a URL like postgres://user:password@host:5432/database.');
  }
  if (c.redisUrl !== null) {
    const p = protocolOf(c.redisUrl);
    if (p !== 'redis:' && p !== 'rediss:') throw new ConfigError('redisUrl (GATEHOUSE_REDIS_URL) must be a URL like redis://host:6379 or rediss://:password@host:6380.');
  }
  if (c.authUrl !== null) {
    const p = protocolOf(c.authUrl);
    if (p !== 'http:' && p !== 'https:') throw new ConfigError('authUrl (GATEHOUSE_AUTH_URL) must be the auth service\'s base URL, like http://10.0.1.5:9000.');
    c.authUrl = c.authUrl.replace(/\/+$/, '');
  }
  if (c.authPort > 65535) throw new ConfigError(`authPort must be 0..65535, got ${c.authPort}.`);
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides from command-line flags, applied last. */
  overrides?: Partial<Pick<GatehouseConfig, 'port' | 'host' | 'dataDir' | 'publicUrl' | 'authPort'>>;
}

/** Defaults <- config file (GATEHOUSE_CONFIG) <- environment <- flags. Throws ConfigError naming the bad key. */
export function loadConfig(options: LoadConfigOptions = {}): GatehouseConfig {
  const env = options.env ?? process.env;
  const config = structuredClone(DEFAULTS) as unknown as Record<string, unknown>;
  const file = env.GATEHOUSE_CONFIG;
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
    mergeChecked(config, DEFAULTS as unknown as Record<string, unknown>, json, '');
  }
  const c = config as unknown as GatehouseConfig;
  if (env.GATEHOUSE_PORT !== undefined && env.GATEHOUSE_PORT !== '') c.port = intFromEnv('GATEHOUSE_PORT', env.GATEHOUSE_PORT, 0, 65535);
  if (env.GATEHOUSE_HOST) c.host = env.GATEHOUSE_HOST;
  if (env.GATEHOUSE_PUBLIC_URL) c.publicUrl = env.GATEHOUSE_PUBLIC_URL;
  if (env.GATEHOUSE_DATA_DIR) c.dataDir = env.GATEHOUSE_DATA_DIR;
  if (env.GATEHOUSE_MASTER_KEY) c.masterKey = env.GATEHOUSE_MASTER_KEY;
  if (env.GATEHOUSE_LOG_LEVEL) c.logLevel = env.GATEHOUSE_LOG_LEVEL as GatehouseConfig['logLevel'];
  if (env.GATEHOUSE_ADMIN_PORT !== undefined && env.GATEHOUSE_ADMIN_PORT !== '') c.adminPort = intFromEnv('GATEHOUSE_ADMIN_PORT', env.GATEHOUSE_ADMIN_PORT, 0, 65535);
  if (env.GATEHOUSE_ADMIN_HOST) c.adminHost = env.GATEHOUSE_ADMIN_HOST;
  if (env.GATEHOUSE_METRICS_BEARER_SECRET) c.metrics.bearerSecret = env.GATEHOUSE_METRICS_BEARER_SECRET;
  if (env.GATEHOUSE_LOG_FORMAT) c.log.format = env.GATEHOUSE_LOG_FORMAT as GatehouseConfig['log']['format'];
  if (env.GATEHOUSE_DATABASE_URL) c.databaseUrl = env.GATEHOUSE_DATABASE_URL;
  if (env.GATEHOUSE_REDIS_URL) c.redisUrl = env.GATEHOUSE_REDIS_URL;
  if (env.GATEHOUSE_AUTH_URL) c.authUrl = env.GATEHOUSE_AUTH_URL;
  if (env.GATEHOUSE_AUTH_PORT !== undefined && env.GATEHOUSE_AUTH_PORT !== '') c.authPort = intFromEnv('GATEHOUSE_AUTH_PORT', env.GATEHOUSE_AUTH_PORT, 0, 65535);
  const o = options.overrides ?? {};
  if (o.port !== undefined) c.port = o.port;
  if (o.host !== undefined) c.host = o.host;
  if (o.dataDir !== undefined) c.dataDir = o.dataDir;
  if (o.publicUrl !== undefined) c.publicUrl = o.publicUrl;
  if (o.authPort !== undefined) c.authPort = o.authPort;
  if (c.publicUrl) c.publicUrl = c.publicUrl.replace(/\/+$/, '');
  checkFinal(c);
  return c;
}
