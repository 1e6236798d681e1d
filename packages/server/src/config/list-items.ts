import { nearest } from '../util/nearest.js';
import { AUTH_SERVICE } from '../credentials/auth-service.js';
import { ConfigError } from './config-error.js';
import { isIP } from 'node:net';
import { CLIENT_KEYS, FEDERATION_PROVIDER_KEYS, ROUTE_KEYS, type FederationProviderConfig, type IntrospectionClient, type RouteConfig } from './schema.js';

/**
 * The parsers of the two list keys whose items are objects, `routes` and `introspection.clients`
 * (schema.ts names their keys; docs/configuration.md documents them).
 */

const ROUTE_KEY_SET: ReadonlySet<string> = new Set(ROUTE_KEYS);
const CLIENT_KEY_SET: ReadonlySet<string> = new Set(CLIENT_KEYS);
const FEDERATION_PROVIDER_KEY_SET: ReadonlySet<string> = new Set(FEDERATION_PROVIDER_KEYS);

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
  if (r.websocket !== undefined) {
    if (typeof r.websocket !== 'boolean') throw new ConfigError(`Config key "${at}.websocket" must be true or false.`);
    route.websocket = r.websocket;
  }
  if (r.mfa !== undefined) {
    if (typeof r.mfa !== 'boolean') throw new ConfigError(`Config key "${at}.mfa" must be true or false.`);
    if (r.mfa) route.mfa = true;
  }
  if (r.maxAuthAgeSec !== undefined) {
    if (typeof r.maxAuthAgeSec !== 'number' || !Number.isInteger(r.maxAuthAgeSec) || r.maxAuthAgeSec < 1 || r.maxAuthAgeSec > 31_536_000) {
      throw new ConfigError(`Config key "${at}.maxAuthAgeSec" must be a whole number of seconds from 1 to 31536000.`);
    }
    route.maxAuthAgeSec = r.maxAuthAgeSec;
  }
  if (route.mfa === true || route.maxAuthAgeSec !== undefined) {
    // How the user signed in says nothing about a service calling as itself, and a route without
    // a credential has no sign-in to judge.
    if (auth === 'none') throw new ConfigError(`Config key "${at}": "mfa" and "maxAuthAgeSec" need "auth": "required" or "optional".`);
    if (route.clients !== undefined && route.clients.length > 0) {
      throw new ConfigError(`Config key "${at}": "mfa" and "maxAuthAgeSec" concern a user's sign-in; service clients have none. Give "clients" a route of their own.`);
    }
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

/** A provider id: it is a URL path segment and a stored value. */
const PROVIDER_ID_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** A POSIX-style environment variable name. */
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Defaults of `scopes` by provider type. */
export const FEDERATION_DEFAULT_SCOPES = { oidc: ['openid', 'email', 'profile'], github: ['read:user', 'user:email'] } as const;
/** GitHub's own URLs: the defaults of `authorizationUrl`, `tokenUrl`, `apiUrl`. */
export const GITHUB_DEFAULT_URLS = {
  authorizationUrl: 'https://github.com/login/oauth/authorize',
  tokenUrl: 'https://github.com/login/oauth/access_token',
  apiUrl: 'https://api.github.com',
} as const;

/** Whether `hostname` (as URL gives it) is a loopback address: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

/**
 * A provider URL: https, or http on a loopback host only (development and tests), no
 * credentials, query or fragment. Returned as written (an issuer is compared exactly, trailing slash included).
 */
function providerUrl(value: unknown, key: string, example: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(`Config key "${key}" is required and must be a URL like ${JSON.stringify(example)}.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`Config key "${key}" must be a URL like ${JSON.stringify(example)}, got ${JSON.stringify(value)}.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`Config key "${key}" must be an https URL like ${JSON.stringify(example)}.`);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    // Over plain http anyone on the path could read the code and tokens or swap the provider's keys.
    throw new ConfigError(`Config key "${key}": http is refused for ${url.hostname} (codes and tokens would cross the network in clear); use https, or a loopback address (127.0.0.1, ::1, localhost) for development.`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new ConfigError(`Config key "${key}" must be a plain URL without user, password, query or fragment, like ${JSON.stringify(example)}.`);
  }
  return value;
}

/**
 * `federation.providers`: each item checked (docs/configuration.md, Federation providers), its
 * defaults filled in. The environment variable a `clientSecretEnv` names is checked by
 * `checkFederationSecrets` once the environment is known.
 */
export function parseFederationProviders(value: unknown): FederationProviderConfig[] {
  if (!Array.isArray(value)) throw new ConfigError('Config key "federation.providers" must be an array of provider objects like {"id": "google", "type": "oidc", ...}.');
  const seen = new Set<string>();
  return value.map((p, i) => {
    const at = `federation.providers[${i}]`;
    if (!isPlainObject(p)) throw new ConfigError(`Config key "${at}" must be an object.`);
    for (const k of Object.keys(p)) {
      if (!FEDERATION_PROVIDER_KEY_SET.has(k)) {
        throw new ConfigError(`Unknown config key "${at}.${k}"${didYouMeanOf(k, FEDERATION_PROVIDER_KEYS)}. A provider takes: ${FEDERATION_PROVIDER_KEYS.join(', ')}.`);
      }
    }
    if (typeof p.id !== 'string' || !PROVIDER_ID_RE.test(p.id)) {
      throw new ConfigError(`Config key "${at}.id" must be 1 to 32 lower-case letters, digits, "_" or "-" (it is part of the callback URL), like "google", got ${JSON.stringify(p.id)}.`);
    }
    const id = p.id;
    if (seen.has(id)) throw new ConfigError(`Two federation providers have the id ${JSON.stringify(id)}; give each its own.`);
    seen.add(id);
    const type = p.type;
    if (type !== 'oidc' && type !== 'github') throw new ConfigError(`Config key "${at}.type" must be "oidc" or "github", got ${JSON.stringify(type)}.`);
    const text = (k: string): string => {
      const v = p[k];
      if (typeof v !== 'string' || v.trim().length === 0 || v.length > 200) throw new ConfigError(`Config key "${at}.${k}" is required and must be a non-empty string (at most 200 characters).`);
      return v;
    };
    const flag = (k: string, fallback: boolean): boolean => {
      const v = p[k];
      if (v === undefined) return fallback;
      if (typeof v !== 'boolean') throw new ConfigError(`Config key "${at}.${k}" must be true or false.`);
      return v;
    };
    const provider: FederationProviderConfig = {
      id,
      type,
      name: text('name'),
      clientId: text('clientId'),
      scopes: [...FEDERATION_DEFAULT_SCOPES[type]],
      allowSignup: flag('allowSignup', true),
      linkByVerifiedEmail: flag('linkByVerifiedEmail', false),
    };
    const hasSecret = p.clientSecret !== undefined;
    const hasEnv = p.clientSecretEnv !== undefined;
    if (hasSecret === hasEnv) {
      throw new ConfigError(`Config key "${at}": give exactly one of "clientSecretEnv" (the name of an environment variable holding the secret; preferred) or "clientSecret".`);
    }
    if (hasSecret) provider.clientSecret = text('clientSecret');
    if (hasEnv) {
      if (typeof p.clientSecretEnv !== 'string' || !ENV_NAME_RE.test(p.clientSecretEnv)) {
        throw new ConfigError(`Config key "${at}.clientSecretEnv" must be the name of an environment variable, like "GOOGLE_CLIENT_SECRET".`);
      }
      provider.clientSecretEnv = p.clientSecretEnv;
    }
    if (p.scopes !== undefined) {
      if (!Array.isArray(p.scopes) || p.scopes.length === 0 || p.scopes.some((x) => typeof x !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(x))) {
        throw new ConfigError(`Config key "${at}.scopes" must be a non-empty array of scope strings, like ${JSON.stringify(FEDERATION_DEFAULT_SCOPES[type])}.`);
      }
      provider.scopes = [...new Set(p.scopes as string[])];
    }
    if (type === 'oidc') {
      for (const k of ['authorizationUrl', 'tokenUrl', 'apiUrl']) {
        if (p[k] !== undefined) throw new ConfigError(`Config key "${at}.${k}" is for "github" providers only; an OIDC provider's URLs come from its issuer's discovery document.`);
      }
      provider.issuer = providerUrl(p.issuer, `${at}.issuer`, 'https://accounts.google.com');
      if (!provider.scopes.includes('openid')) throw new ConfigError(`Config key "${at}.scopes" must include "openid" (an OIDC provider sends an ID token only then).`);
    } else {
      if (p.issuer !== undefined) throw new ConfigError(`Config key "${at}.issuer" is for "oidc" providers only; a "github" provider takes authorizationUrl, tokenUrl and apiUrl (GitHub's by default).`);
      provider.authorizationUrl = p.authorizationUrl === undefined ? GITHUB_DEFAULT_URLS.authorizationUrl : providerUrl(p.authorizationUrl, `${at}.authorizationUrl`, GITHUB_DEFAULT_URLS.authorizationUrl);
      provider.tokenUrl = p.tokenUrl === undefined ? GITHUB_DEFAULT_URLS.tokenUrl : providerUrl(p.tokenUrl, `${at}.tokenUrl`, GITHUB_DEFAULT_URLS.tokenUrl);
      provider.apiUrl = p.apiUrl === undefined ? GITHUB_DEFAULT_URLS.apiUrl : providerUrl(p.apiUrl, `${at}.apiUrl`, GITHUB_DEFAULT_URLS.apiUrl);
    }
    return provider;
  });
}

/** The message when a provider's `clientSecretEnv` names a variable that is unset or empty (the secret is never printed), else undefined. */
export function federationSecretProblem(providers: readonly FederationProviderConfig[], env: NodeJS.ProcessEnv): string | undefined {
  for (const [i, p] of providers.entries()) {
    if (p.clientSecretEnv !== undefined && !env[p.clientSecretEnv]) {
      return `federation.providers[${i}] ("${p.id}") takes its client secret from the environment variable ${p.clientSecretEnv}, which is not set (or empty): set it to the client secret the provider gave you.`;
    }
  }
  return undefined;
}
