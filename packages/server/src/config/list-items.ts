import { nearest } from '../util/nearest.js';
import { AUTH_SERVICE } from '../credentials/auth-service.js';
import { ConfigError } from './config-error.js';
import { CLIENT_KEYS, ROUTE_KEYS, type IntrospectionClient, type RouteConfig } from './schema.js';

/**
 * The parsers of the two list keys whose items are objects, `routes` and `introspection.clients`
 * (schema.ts names their keys; docs/configuration.md documents them).
 */

const ROUTE_KEY_SET: ReadonlySet<string> = new Set(ROUTE_KEYS);
const CLIENT_KEY_SET: ReadonlySet<string> = new Set(CLIENT_KEYS);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** ` (did you mean "x"?)` for an unknown key of a list item (a route, a client). */
function didYouMeanOf(key: string, known: Iterable<string>): string {
  const near = nearest(key, known);
  return near !== undefined ? ` (did you mean "${near}"?)` : '';
}

const SERVICE_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

export function parseRoutes(value: unknown): RouteConfig[] {
  if (!Array.isArray(value)) throw new ConfigError('Config key "routes" must be an array of route objects.');
  return value.map((r, i) => parseRoute(r, `routes[${i}]`));
}

function parseRoute(r: unknown, at: string): RouteConfig {
  if (!isPlainObject(r)) throw new ConfigError(`Config key "${at}" must be an object.`);
  for (const k of Object.keys(r)) {
    if (!ROUTE_KEY_SET.has(k)) throw new ConfigError(`Unknown config key "${at}.${k}"${didYouMeanOf(k, ROUTE_KEYS)}. A route takes: ${ROUTE_KEYS.join(', ')}.`);
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
  const clients = strings('clients');
  if (clients) route.clients = [...new Set(clients)];
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

export function parseIntrospectionClients(value: unknown): IntrospectionClient[] {
  if (!Array.isArray(value)) throw new ConfigError('Config key "introspection.clients" must be an array of {"id", "secretSha256"} objects.');
  const seen = new Set<string>();
  return value.map((c, i) => {
    const at = `introspection.clients[${i}]`;
    if (!isPlainObject(c)) throw new ConfigError(`Config key "${at}" must be an object.`);
    for (const k of Object.keys(c)) {
      if (!CLIENT_KEY_SET.has(k)) throw new ConfigError(`Unknown config key "${at}.${k}"${didYouMeanOf(k, CLIENT_KEYS)}. A client takes: ${CLIENT_KEYS.join(', ')}.`);
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
