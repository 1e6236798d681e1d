import { availableParallelism } from 'node:os';
import { checkAllowedHost } from './allowed-hosts.js';
import { parseTrustedProxies } from './trusted-proxies.js';

/**
 * Every configuration key, described once: its type, default, allowed values, environment
 * variable and one line of documentation. From this file come the `GatehouseConfig` type
 * (types.ts), the defaults (defaults.ts), loading and validation (load-config.ts), the
 * environment section of `gatehouse --help` (cli/help.ts) and the check that
 * docs/configuration.md documents every key and no other (schema.test.ts).
 *
 * Validation messages are made from the description: a key's label is its path, followed by its
 * environment variable when that variable is read as text (`publicUrl (GATEHOUSE_PUBLIC_URL)`);
 * a whole number with `min`/`max` says "must be 1..60 seconds", "must be at least 8", "must be
 * at most 86400"; a choice says "must be "off" or "pow", got ...". `check` adds what a type and a
 * range cannot say, and RELATIONS below what involves two keys.
 */

/** How a key's value is read from the config file (and, with `env`, from the environment). */
export type LeafType =
  | 'int' // a whole number >= 0 (`min`/`max` narrow it)
  | 'port' // a whole number, 0..65535
  | 'nullablePort' // a port or null
  | 'string'
  | 'nullableString'
  | 'boolean'
  | 'choice' // one string of `values`
  | 'strings' // an array of strings
  | 'list'; // an array of objects with the keys `items` names, parsed by load-config's parser for `item`

export interface Leaf<T> {
  readonly kind: 'leaf';
  readonly type: LeafType;
  readonly default: T;
  /** One line: what the key does (shown by `gatehouse --help` for keys with an environment variable). */
  readonly doc: string;
  /** The environment variable that sets it (after the file, before command-line flags). */
  readonly env?: `GATEHOUSE_${string}`;
  readonly min?: number;
  readonly max?: number;
  /** Words after the range in its message: " seconds", " (NIST SP 800-63B)". */
  readonly suffix?: string;
  /** The whole "must be ..." of a range or choice message, where the generated one would say less. */
  readonly mustBe?: string;
  /** The allowed values of a `choice`. */
  readonly values?: readonly string[];
  /** The default as docs/configuration.md states it, where it is computed at start. */
  readonly defaultDoc?: string;
  /** A `list`'s item kind (its parser is in list-items.ts) and the keys an item takes. */
  readonly item?: ListItemKind;
  readonly items?: readonly string[];
  /** Applied once every source is read, before the checks (e.g. trailing slashes dropped). */
  normalize?(value: T): T;
  /** The message when the value is not acceptable, else undefined. `label` names the key. */
  check?(value: T, label: string): string | undefined;
}

export interface Group<K extends Keys = Keys> {
  readonly kind: 'group';
  readonly doc: string;
  readonly keys: K;
}

/** What `Keys` holds: a leaf of any value type (`check` and `normalize` are methods, so bivariant), or a group. */
export type SchemaNode = Leaf<unknown> | Group;
export interface Keys {
  readonly [key: string]: SchemaNode;
}

export type ListItemKind = 'route' | 'introspectionClient' | 'federationProvider';

/** The configuration object a schema describes. */
export type ConfigOf<K extends Keys> = {
  -readonly [P in keyof K]: K[P] extends Leaf<infer T> ? T : K[P] extends Group<infer G> ? ConfigOf<G> : never;
};

type Options<T> = Partial<Omit<Leaf<T>, 'kind' | 'type' | 'default' | 'doc' | 'values'>>;

function leaf<T>(type: LeafType, value: T, doc: string, options: Options<T> = {}): Leaf<T> {
  return { kind: 'leaf', type, default: value, doc, ...options };
}
const int = (value: number, doc: string, options?: Options<number>): Leaf<number> => leaf('int', value, doc, options);
const port = (value: number, doc: string, options?: Options<number>): Leaf<number> => leaf('port', value, doc, options);
const nullablePort = (doc: string, options?: Options<number | null>): Leaf<number | null> => leaf('nullablePort', null, doc, options);
const string = (value: string, doc: string, options?: Options<string>): Leaf<string> => leaf('string', value, doc, options);
const nullableString = (doc: string, options?: Options<string | null>): Leaf<string | null> => leaf('nullableString', null, doc, options);
const boolean = (value: boolean, doc: string): Leaf<boolean> => leaf('boolean', value, doc);
const strings = (value: string[], doc: string, options?: Options<string[]>): Leaf<string[]> => leaf('strings', value, doc, options);
function choice<const V extends string>(values: readonly V[], value: NoInfer<V>, doc: string, options?: Options<V>): Leaf<V> {
  return { kind: 'leaf', type: 'choice', default: value, doc, values, ...options };
}
function list<T>(item: ListItemKind, items: readonly string[], doc: string): Leaf<T[]> {
  return leaf<T[]>('list', [], doc, { item, items });
}
function group<const K extends Keys>(doc: string, keys: K): Group<K> {
  return { kind: 'group', doc, keys };
}

export type RouteAuth = 'required' | 'optional' | 'none';

/** A route of the config file's `routes` (the keys are documented in docs/configuration.md, Routes). */
export interface RouteConfig {
  /** Path prefix, matched on segment boundaries ("/api/notes" matches "/api/notes" and "/api/notes/1"). Kept when proxying. */
  path: string;
  /** Base URL of the upstream, e.g. "http://127.0.0.1:9000". */
  upstream: string;
  /** Service name: the passport's `aud`. */
  service: string;
  auth: RouteAuth;
  /** The user must hold every one of these roles. */
  roles?: string[];
  /**
   * OAuth clients (their ids) whose own client-credentials tokens may call the route; a client not
   * named gets 403. Roles do not apply to clients (they hold none): with `roles` too, users with
   * the roles OR the named clients get in. `scopes` apply to clients as to any token.
   */
  clients?: string[];
  /** Scopes token credentials need, by HTTP method; "*" for any other method. Cookie sessions have every scope. */
  scopes?: Record<string, string[]>;
  /** Content types accepted for request bodies (default: JSON only). */
  contentTypes?: string[];
  /** Largest request body in bytes (default: gateway.maxBodyBytes). */
  maxBodyBytes?: number;
  /** WebSocket upgrades are proxied (default true); false: refused with 403 `websocket_disabled`. */
  websocket?: boolean;
  /**
   * Only users whose session proved a second factor or a passkey (amr holds `mfa`) get a passport
   * (issue 17); others get 401 `insufficient_user_authentication` (RFC 9470), pages a redirect to
   * re-authentication. API tokens and service clients (no sign-in) are refused.
   */
  mfa?: boolean;
  /** Step-up: the user must have authenticated within this many seconds (`auth_time`); same refusal. */
  maxAuthAgeSec?: number;
  /** Internal: a sign-in style endpoint; refused when sent cross-site (login CSRF). */
  loginCsrf?: boolean;
}

/** A trusted caller of POST /auth/introspect (RFC 7662), authenticated with HTTP Basic. */
export interface IntrospectionClient {
  /** Client id (the Basic user name); no ":". */
  id: string;
  /** base64url SHA-256 of the client secret (the secret itself is never configured). */
  secretSha256: string;
}

export type FederationProviderType = 'oidc' | 'github';

/**
 * An external identity provider of `federation.providers` (docs/configuration.md, Federation
 * providers; docs/federation.md). As parsed: defaults filled in, URLs checked.
 */
export interface FederationProviderConfig {
  /** Short id in URLs (`/auth/federation/<id>/callback`) and in stored identities; never change it once users signed in. */
  id: string;
  type: FederationProviderType;
  /** Shown on the buttons: "Continue with <name>". */
  name: string;
  /** OIDC only: the issuer URL (discovery at `<issuer>/.well-known/openid-configuration`). */
  issuer?: string;
  clientId: string;
  /** The client secret written in the config file (worse than `clientSecretEnv`: the file then holds a secret). */
  clientSecret?: string;
  /** The name of the environment variable holding the client secret (exactly one of the two). */
  clientSecretEnv?: string;
  /** Scopes asked for (oidc default: openid email profile; github: read:user user:email). */
  scopes: string[];
  /** Whether a first sign-in with an unknown identity creates a user. */
  allowSignup: boolean;
  /** Whether an identity whose verified email matches an existing user is linked to it (takeover risk: docs/federation.md). */
  linkByVerifiedEmail: boolean;
  /** GitHub only (defaults github.com): the authorization, token and API URLs. */
  authorizationUrl?: string;
  tokenUrl?: string;
  apiUrl?: string;
}

/** The keys a route takes in the config file (`loginCsrf` is internal: only Gatehouse's own routes set it). */
export const ROUTE_KEYS = ['path', 'upstream', 'service', 'auth', 'roles', 'clients', 'scopes', 'contentTypes', 'maxBodyBytes', 'websocket', 'mfa', 'maxAuthAgeSec'] as const satisfies readonly Exclude<keyof RouteConfig, 'loginCsrf'>[];
/** The keys a federation provider takes. */
export const FEDERATION_PROVIDER_KEYS = [
  'id',
  'type',
  'name',
  'issuer',
  'clientId',
  'clientSecret',
  'clientSecretEnv',
  'scopes',
  'allowSignup',
  'linkByVerifiedEmail',
  'authorizationUrl',
  'tokenUrl',
  'apiUrl',
] as const satisfies readonly (keyof FederationProviderConfig)[];
/** The keys an introspection client takes. */
export const CLIENT_KEYS = ['id', 'secretSha256'] as const satisfies readonly (keyof IntrospectionClient)[];

// Both lists name every key of their type: a key added to the type and not listed fails to compile.
type Complete<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : never;
const listsComplete: [
  Complete<Exclude<keyof RouteConfig, 'loginCsrf'>, (typeof ROUTE_KEYS)[number]>,
  Complete<keyof IntrospectionClient, (typeof CLIENT_KEYS)[number]>,
  Complete<keyof FederationProviderConfig, (typeof FEDERATION_PROVIDER_KEYS)[number]>,
] = [true, true, true];
void listsComplete;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** RFC 6749 §3.3 scope-token: printable ASCII without space, `"` and `\`. */
const SCOPE_TOKEN_RE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

const dropTrailingSlashes = (url: string | null): string | null => (url ? url.replace(/\/+$/, '') : url);

function protocolOf(url: string): string | null {
  try {
    return new URL(url).protocol;
  } catch {
    return null;
  }
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

// Store and role URLs: their messages never echo the URL, which may carry a password.

export const SCHEMA = {
  port: port(8080, 'Public gateway port; 0 picks a free one.', { env: 'GATEHOUSE_PORT' }),
  host: string('127.0.0.1', 'Address the gateway binds (0.0.0.0 to accept from other machines).', { env: 'GATEHOUSE_HOST' }),
  publicUrl: nullableString('The URL users reach the gateway at; decides the Origin check, Secure cookies and the issuer.', {
    env: 'GATEHOUSE_PUBLIC_URL',
    normalize: dropTrailingSlashes,
    check(url, label) {
      if (url === null) return undefined;
      const p = protocolOf(url);
      if (p === null) return `${label} must be a URL like "https://auth.example.com", got ${JSON.stringify(url)}.`;
      return p === 'http:' || p === 'https:' ? undefined : `${label} must be http or https.`;
    },
  }),
  dataDir: string('./data', 'Where the SQLite file, the generated master key and demo data live.', { env: 'GATEHOUSE_DATA_DIR' }),
  masterKey: nullableString('Base64url or hex key (>= 32 bytes) that encrypts signing keys; generated into dataDir when unset.', { env: 'GATEHOUSE_MASTER_KEY' }),
  logLevel: choice(LOG_LEVELS, 'info', 'Log level (pino); logs never hold passwords, tokens, cookies or hashes.', {
    env: 'GATEHOUSE_LOG_LEVEL',
    mustBe: `one of ${LOG_LEVELS.join(', ')}`,
  }),
  adminPort: nullablePort('Port of the internal admin listener (/metrics, detailed /readyz, /healthz); unset: none.', { env: 'GATEHOUSE_ADMIN_PORT' }),
  adminHost: string('127.0.0.1', 'Address the admin listener binds (keep it on loopback or an internal network).', { env: 'GATEHOUSE_ADMIN_HOST' }),
  databaseUrl: nullableString('PostgreSQL URL for every SQL store (scale-out; needs GATEHOUSE_MASTER_KEY); unset: SQLite in dataDir.', {
    env: 'GATEHOUSE_DATABASE_URL',
    check(url, label) {
      if (url === null) return undefined;
      const p = protocolOf(url);
      return p === 'postgres:' || p === 'postgresql:' ? undefined : `${label} must be a URL like postgres://user:password@host:5432/database.`;
    },
  }),
  redisUrl: nullableString('Redis URL: revocation feed, hot copy of sessions and API tokens, rate-limit counters.', {
    env: 'GATEHOUSE_REDIS_URL',
    check(url, label) {
      if (url === null) return undefined;
      const p = protocolOf(url);
      return p === 'redis:' || p === 'rediss:' ? undefined : `${label} must be a URL like redis://host:6379 or rediss://:password@host:6380.`;
    },
  }),
  authUrl: nullableString('Base URL of the auth service, for "gatehouse gateway" (required there).', {
    env: 'GATEHOUSE_AUTH_URL',
    normalize: dropTrailingSlashes,
    check(url, label) {
      if (url === null) return undefined;
      const p = protocolOf(url);
      return p === 'http:' || p === 'https:' ? undefined : `${label} must be the auth service's base URL, like http://10.0.1.5:9000.`;
    },
  }),
  authPort: port(0, 'Port of "gatehouse auth" (--port wins); 0 picks a free one.', { env: 'GATEHOUSE_AUTH_PORT' }),
  demo: boolean(true, 'Include the demo routes (notes, home, admin) and start their services.'),
  routes: list<RouteConfig>('route', ROUTE_KEYS, 'Your routes, matched before the demo routes (longest path prefix wins).'),
  session: group('Browser sessions and the gateway\'s copy of them.', {
    slidingTtlSec: int(30 * 24 * 3600, 'Sliding lifetime of a persistent session (seconds).'),
    absoluteTtlSec: int(90 * 24 * 3600, 'Absolute lifetime of any session (seconds).'),
    browserSessionTtlSec: int(24 * 3600, 'Server-side sliding lifetime of a browser-session (remember: false) session (seconds).'),
    touchIntervalSec: int(300, 'At most one last-seen/expiry write per session per this many seconds.'),
    cacheTtlMs: int(30_000, 'How long the gateway trusts a cached credential before re-reading the store (ms); revocation clears it at once.'),
    cacheMax: int(100_000, 'Most sessions the gateway keeps in memory.'),
  }),
  passport: group('The short-lived passports the gateway hands upstream services.', {
    ttlSec: int(60, 'Passport lifetime (seconds).', { min: 1, max: 60, suffix: ' seconds' }),
    renewBeforeSec: int(15, 'A cached passport is reused until this many seconds before it expires.'),
    issuer: nullableString('Issuer (`iss`) of passports and access tokens; defaults to publicUrl.'),
  }),
  gateway: group('The public gateway: request hygiene, upstreams, client connections.', {
    stripHeaders: strings(
      ['x-user-*', 'x-auth-*', 'x-forwarded-user', 'x-remote-user', 'remote-user', 'x-roles'],
      'Identity headers removed from every client request (lower case; a trailing * matches a prefix).',
    ),
    maxBodyBytes: int(64 * 1024, 'Largest request body in bytes.'),
    upstreamConnectTimeoutMs: int(5_000, 'Time to connect to an upstream (ms).'),
    upstreamHeadersTimeoutMs: int(30_000, 'Time for an upstream to send its response headers (ms).'),
    upstreamBodyTimeoutMs: int(30_000, 'Time between body chunks from an upstream (ms).'),
    upstreamConnections: int(64, 'Keep-alive connections per upstream.'),
    // Issue 19: a refresh costs the shared loop ~6 cookie requests; 15 kept cookies at >= 0.8 beside a storm (BENCHMARKS.md).
    grantSharePercent: int(
      15,
      '`gatehouse start` (auth service in the gateway\'s process): the share of the event loop token grants (POST /auth/token) keep while the loop is saturated and other requests are served; the rest wait (503 `unavailable` past 2 s or 1024 waiting). Idle loop or grants alone: no limit. 100: off.',
      { min: 1, max: 100, suffix: ' %' },
    ),
    trustedProxies: strings([], 'Addresses/CIDR blocks of reverse proxies whose forwarding header is believed; empty: none.', {
      check(list) {
        try {
          parseTrustedProxies(list);
          return undefined;
        } catch (err) {
          return `${(err as Error).message} Use addresses like "10.0.0.1" or blocks like "10.0.0.0/8", "2001:db8::/32".`;
        }
      },
    }),
    clientIpHeader: choice(['x-forwarded-for', 'forwarded'], 'x-forwarded-for', 'The one forwarding header the trusted proxies write (RFC 7239 for "forwarded").'),
    allowedHosts: strings([], 'Hosts (`name[:port]`) routed requests may name besides the public URL\'s; "*": any.', {
      check(hosts, label) {
        for (const host of hosts) {
          const why = checkAllowedHost(host);
          if (why !== undefined) return `${label}: ${JSON.stringify(host)} ${why}; list hosts like "gatehouse.example.com" or "10.0.0.5:8080", or "*" for any.`;
        }
        return undefined;
      },
    }),
    // A client dribbling its headers was held ~78 s (Node's 60 s plus its 30 s check): cut at 10 s.
    headersTimeoutMs: int(10_000, 'Time for a client to send the complete request headers (ms); then 408 and the connection closes.', { min: 1 }),
    requestTimeoutMs: int(30_000, 'Time for a client to send the complete request, body included (ms); 0: no limit.'),
    // Above the 60 s idle timeout of common load balancers, so they never reuse a connection we closed.
    keepAliveTimeoutMs: int(65_000, 'How long an idle kept-alive client connection stays open (ms).'),
    maxConnections: int(10_000, 'Most open client connections in all (0: no limit); more are closed at once, unread.'),
    maxConnectionsPerAddress: int(256, 'Most open connections from one client address (0: no limit); trustedProxies are exempt.'),
    // 1 by default: one process is what a small box, a sidecar and the test suite want; more is
    // the operator's choice (docs/deployment.md, All cores). A string, for "auto".
    workers: string('1', 'Processes serving the public port (`gatehouse start`/`gateway`, node:cluster): a number, or "auto" for one per CPU core.', {
      env: 'GATEHOUSE_WORKERS',
      check(value, label) {
        return /^(auto|[1-9]\d{0,2})$/.test(value) ? undefined : `${label} must be a whole number from 1 to 999, or "auto" (one per CPU core), got ${JSON.stringify(value)}.`;
      },
    }),
    websocketIdleTimeoutMs: int(300_000, 'A proxied WebSocket with no byte either way for this long is closed with 1001 (ms); 0: never.'),
  }),
  cors: group('CORS for routed paths; off while `origins` is empty.', {
    origins: strings([], 'Exact origins (`https://app.example.com`) allowed to call the gateway from a browser.', {
      check(origins, label) {
        const bad = origins.find((o) => !isSerializedOrigin(o));
        return bad === undefined ? undefined : `${label}: ${JSON.stringify(bad)} is not an origin; list exact origins like "https://app.example.com" (no path, no trailing slash, no "*").`;
      },
    }),
    allowCredentials: boolean(true, 'Send `Access-Control-Allow-Credentials: true` to allowed origins (writes still need the CSRF token).'),
    maxAgeSec: int(600, '`Access-Control-Max-Age` of preflight answers (seconds).', { max: 86_400 }),
  }),
  tokens: group('Bearer credentials: access tokens and the scopes tokens may carry.', {
    accessTokenTtlSec: int(600, 'Lifetime of an access token (seconds).', { min: 60, max: 3600, suffix: ' seconds' }),
    clientCredentialsTtlSec: int(600, 'Lifetime of a client-credentials access token (a service\'s own token, no refresh token; seconds).', { min: 60, max: 3600, suffix: ' seconds' }),
    // `account` may not be listed: load-config.ts refuses it (a token gets it only when asked for by name).
    defaultScopes: strings(['notes:read', 'notes:write'], 'The scopes bearer credentials may carry; list every scope the route table names.', {
      check(scopes, label) {
        const bad = scopes.find((s) => !SCOPE_TOKEN_RE.test(s));
        return bad === undefined ? undefined : `${label}: ${JSON.stringify(bad)} is not a scope (printable characters, no spaces, quotes or backslashes).`;
      },
    }),
  }),
  clients: group('The registry of OAuth clients (`gatehouse clients`).', {
    secretOverlapSec: int(86_400, 'How long a confidential client\'s previous secret stays valid after `gatehouse clients rotate-secret` without `--overlap` (seconds).', {
      max: 30 * 86_400,
      suffix: ' seconds',
    }),
  }),
  device: group('The device authorization grant (RFC 8628): TVs and CLIs signed in with a code confirmed on /device.', {
    codeTtlSec: int(600, 'How long a device code and its user code stay valid (seconds).', { min: 60, max: 3600, suffix: ' seconds' }),
    pollIntervalSec: int(5, 'The polling interval a device is given (seconds); each slow_down adds 5.', { min: 1, max: 60, suffix: ' seconds' }),
    authorizePerIpPerMinute: int(30, 'Device codes one client IP may ask for per minute (POST /auth/device/authorize; 0: no limit).'),
    userCodeFailuresPerIpPerMinute: int(10, 'Wrong, expired or used user codes entered on /device per client IP per minute; the next attempt gets 429.', { min: 1 }),
    userCodeFailuresPerMinute: int(100, 'Wrong, expired or used user codes entered on /device per minute from everywhere together; the next attempt gets 429.', { min: 1 }),
  }),
  introspection: group('POST /auth/introspect (RFC 7662).', {
    clients: list<IntrospectionClient>('introspectionClient', CLIENT_KEYS, 'Callers allowed to use POST /auth/introspect; none by default (it refuses everyone).'),
  }),
  federation: group('Sign-in through external identity providers (docs/federation.md).', {
    providers: list<FederationProviderConfig>('federationProvider', FEDERATION_PROVIDER_KEYS, 'External identity providers (OpenID Connect, GitHub) users may sign in with; none by default.'),
    timeoutMs: int(5000, 'Longest wait for any one call to a provider (discovery, token, user info, GitHub API), then 503 federation_unavailable (ms).', {
      min: 100,
      max: 60_000,
      suffix: ' ms',
    }),
  }),
  password: group('Password rules and the argon2id hashing queue.', {
    minLength: int(8, 'Shortest password accepted.', { min: 8, suffix: ' (NIST SP 800-63B)' }),
    maxLength: int(4096, 'Longest password accepted (never truncated).', { min: 1024 }),
    // One core fewer than the machine has (at most 4, at least 1): argon2id runs on libuv's
    // threads, and on a small box a burst of sign-ins must leave the event loop a core for the
    // signed-in traffic (bench/signin.mjs, 2 cores: 4 at once cut that traffic ~10x, 1 by ~2x).
    maxConcurrentHashes: int(Math.max(1, Math.min(4, availableParallelism() - 1)), 'Most argon2id hashes computed at once (the rest queue).', {
      min: 1,
      defaultDoc: 'CPU cores − 1, between `1` and `4`',
    }),
    // Hashing threads run below request handling: under CPU contention signed-in traffic wins
    // over a burst of sign-ins (bench/signin.mjs).
    hashNice: int(10, 'Nice value (Linux) of the hashing threads; 0 = the priority of request handling.', {
      max: 19,
      mustBe: 'from 0 (the priority of request handling) to 19 (lowest)',
    }),
    // Admission to the hashing queue (crypto/password-hasher.ts): past this expected wait a
    // hash is refused at once with 503 busy + Retry-After instead of queuing (bench/signin-flood.mjs).
    maxHashWaitMs: int(2000, 'Longest expected wait in the hashing queue (ms); a longer one is refused at once (503 busy).', {
      min: 100,
      max: 60_000,
      suffix: ' ms',
    }),
    maxQueuedHashesPerIp: int(8, 'Most hashes one client address (IPv6 by its /64) may have admitted at once, outside the known-device lane (0: no cap).'),
    maxQueuedHashesPerUsername: int(5, 'Most hashes one username may have admitted at once, per lane (0: no cap).'),
  }),
  signin: group('Abuse limits of sign-in (`POST /auth/signin` and the password grant together).', {
    maxFailures: int(5, 'Failed attempts per canonical username per window; the next attempt gets 429 (right password or not).', { min: 1 }),
    lockWindowSec: int(900, 'The per-account window (seconds), from its first failure.', { min: 1 }),
    knownDeviceMaxFailures: int(10, 'Failed attempts per (account, device cookie) per window, for a browser that signed in to that account before.', { min: 1 }),
    perIpPerMinute: int(30, 'Sign-in attempts per client IP per minute (0: no per-IP limit).'),
  }),
  signup: group('Abuse limits of sign-up.', {
    perIpPerMinute: int(10, 'Sign-up attempts per client IP per minute (0: no per-IP limit).'),
    challenge: choice(['off', 'pow'], 'off', 'Proof-of-work for sign-up: "off" (only when switched on automatically) or "pow" (always).'),
    challengeMaxNumber: int(50_000, 'Difficulty: the secret number is drawn from 0..challengeMaxNumber.', { min: 1000, max: 10_000_000 }),
    challengeTtlSec: int(600, 'How long a challenge may be solved and used (seconds).', { min: 60, max: 3600, suffix: ' seconds' }),
    autoChallenge: group('When the sign-up challenge switches itself on.', {
      perIpPerMinute: int(0, 'More sign-up attempts than this from one IP in a minute turn the challenge on for that IP (0: never).'),
      globalPerMinute: int(60, 'More sign-up attempts than this in a minute overall turn it on for everyone (0: never).'),
      durationSec: int(600, 'How long an automatic challenge stays on (seconds).', { min: 1 }),
    }),
  }),
  revocations: group('How revocations reach a running gateway.', {
    pollIntervalMs: int(1000, 'Without Redis: how often a running gateway reads the revocation log for revocations another process recorded, e.g. `gatehouse clients remove` (ms); 0: never.', {
      min: 0,
      max: 60_000,
    }),
  }),
  mfa: group('Second factors (issue 17): TOTP, recovery codes and the second step of a sign-in.', {
    ticketTtlSec: int(300, 'How long the MFA ticket of a sign-in waiting for its second step may be used, once (seconds).', { min: 30, max: 900, suffix: ' seconds' }),
    totpIssuer: string('Gatehouse', 'The issuer authenticator apps show beside the username (otpauth URI).'),
  }),
  admin: group('The admin API (`/auth/admin/*`, docs/admin.md).', {
    maxAuthAgeSec: int(600, 'How recent the admin\'s sign-in (or re-authentication) must be for an admin call (seconds).', { min: 5, max: 86_400, suffix: ' seconds' }),
    requireMfa: boolean(false, 'Admin calls need a sign-in that proved a second factor or a passkey.'),
    writesPerMinute: int(60, 'Admin writes (every method but GET) per admin per minute; then 429.', { min: 1 }),
  }),
  users: group('Account lifecycle (issue 18): disabled and deleted accounts.', {
    deletedUsernameQuarantineDays: int(30, 'A deleted account\'s username (and look-alikes of it) stays refused to sign-up and rename this many days; 0: none.', { min: 0, max: 3650, suffix: ' days' }),
  }),
  email: group('Outgoing mail (docs/email.md): verification links, password resets, security notifications.', {
    smtpUrl: nullableString('SMTP server for outgoing mail, e.g. smtps://user:pass@mail.example.com; unset: no mail. Never logged.', {
      env: 'GATEHOUSE_SMTP_URL',
      check(url, label) {
        if (url === null) return undefined;
        const p = protocolOf(url);
        return p === 'smtp:' || p === 'smtps:' ? undefined : `${label} must be a URL like smtp://user:password@host:587 or smtps://host:465.`;
      },
    }),
    from: nullableString('Sender of every mail, e.g. "Gatehouse <no-reply@example.com>"; unset: no-reply at the host of publicUrl.', { env: 'GATEHOUSE_EMAIL_FROM' }),
    notifications: boolean(true, 'Security notifications by mail (new device, password changed or reset, factor added or removed) to a verified address.'),
    sendTimeoutMs: int(10_000, 'Longest wait for the SMTP server to take one mail (ms); then the send counts as failed.', { min: 100, max: 120_000, suffix: ' ms' }),
  }),
  recovery: group('Account recovery (docs/email.md): reset links, verification links and the limits of forgotten-password requests.', {
    resetTtlMin: int(30, 'How long a password reset link (or the reset token of a forced change) may be used, once (minutes).', { min: 5, max: 1440, suffix: ' minutes' }),
    verifyTtlHours: int(24, 'How long an email verification link may be used, once (hours).', { min: 1, max: 720, suffix: ' hours' }),
    forgotPerAccountPerHour: int(3, 'Forgotten-password requests per username or address per hour; more are answered alike but send nothing.', { min: 1 }),
    forgotPerIpPerMinute: int(5, 'Forgotten-password requests per client IP per minute; the next gets 429 (0: no per-IP limit).'),
    forgotGlobalPerMinute: int(100, 'Forgotten-password requests per minute from everywhere together; the next gets 429 (0: no limit).'),
    verifyMailsPerHour: int(5, 'Verification mails (PUT /auth/email) per account and per address per hour; the next gets 429 (0: no limit).'),
  }),
  audit: group('Security events (`GET /auth/activity`).', {
    retentionDays: int(90, 'Security events older than this are deleted (days).', { min: 1 }),
  }),
  shutdown: group('Graceful stop (SIGTERM, SIGINT).', {
    drainTimeoutMs: int(10_000, 'Longest wait for requests in flight to finish before the rest are cut and the process exits (ms).'),
  }),
  metrics: group('Metrics and the detailed readiness answer.', {
    bearerSecret: nullableString('With it, the public /metrics and detailed /readyz answer `Authorization: Bearer <secret>`. Never logged.', {
      env: 'GATEHOUSE_METRICS_BEARER_SECRET',
      check: (secret, label) => (secret !== null && secret.length < 32 ? `${label} must be at least 32 characters (openssl rand -base64 32).` : undefined),
    }),
  }),
  log: group('Log lines.', {
    format: choice(['auto', 'json', 'pretty'], 'auto', 'Log line format; auto: pretty on a terminal, JSON otherwise.', {
      env: 'GATEHOUSE_LOG_FORMAT',
      mustBe: 'auto, json or pretty',
    }),
    access: boolean(false, 'One info line per gateway request (method, route, status, duration, user id, request id).'),
  }),
} as const satisfies Keys;

/** The configuration Gatehouse runs with. */
export type Config = ConfigOf<typeof SCHEMA>;

/** The environment variable naming the JSON config file: the one variable that sets no key. */
export const CONFIG_FILE_ENV = { name: 'GATEHOUSE_CONFIG', doc: 'Path of the JSON config file (routes and any other key).' } as const;

/** Checks of two keys together, run after every key's own; each returns the message when they disagree. */
export const RELATIONS: readonly ((c: Config) => string | undefined)[] = [
  (c) => (c.passport.renewBeforeSec >= c.passport.ttlSec ? 'passport.renewBeforeSec must be less than passport.ttlSec.' : undefined),
  (c) => (c.session.slidingTtlSec > c.session.absoluteTtlSec ? 'session.slidingTtlSec must not exceed session.absoluteTtlSec.' : undefined),
  (c) =>
    c.gateway.requestTimeoutMs !== 0 && c.gateway.requestTimeoutMs < c.gateway.headersTimeoutMs
      ? 'gateway.requestTimeoutMs must be 0 (no limit) or at least gateway.headersTimeoutMs (the headers are part of the request).'
      : undefined,
  (c) => {
    const seen = new Set<string>();
    for (const r of c.routes) {
      if (seen.has(r.path)) return `Two routes have the path "${r.path}".`;
      seen.add(r.path);
    }
    return undefined;
  },
];

export interface LeafEntry {
  /** Dotted key path: "session.slidingTtlSec". */
  path: string;
  leaf: Leaf<unknown>;
}

/** Every key of `keys` in order, depth first, with its dotted path. */
export function leavesOf(keys: Keys, prefix = ''): LeafEntry[] {
  return Object.entries(keys).flatMap(([k, node]) =>
    node.kind === 'group' ? leavesOf(node.keys, `${prefix}${k}.`) : [{ path: `${prefix}${k}`, leaf: node }],
  );
}

/** Every key path of `keys`, groups included: "session", "session.slidingTtlSec", ... */
export function pathsOf(keys: Keys, prefix = ''): string[] {
  return Object.entries(keys).flatMap(([k, node]) => [`${prefix}${k}`, ...(node.kind === 'group' ? pathsOf(node.keys, `${prefix}${k}.`) : [])]);
}

/** A fresh copy of the defaults of `keys`. */
export function defaultsOf<K extends Keys>(keys: K): ConfigOf<K> {
  const out: Record<string, unknown> = {};
  for (const [k, node] of Object.entries(keys)) out[k] = node.kind === 'group' ? defaultsOf(node.keys) : structuredClone(node.default);
  return out as ConfigOf<K>;
}

/** The keys with an environment variable, in schema order. */
export const ENV_KEYS: readonly (LeafEntry & { env: string })[] = leavesOf(SCHEMA).flatMap((e) => (e.leaf.env ? [{ ...e, env: e.leaf.env }] : []));

/** Whether the environment variable is read as a number (checked at once, naming the variable) rather than as text. */
export function isNumericLeaf(leaf: Leaf<unknown>): boolean {
  return leaf.type === 'int' || leaf.type === 'port' || leaf.type === 'nullablePort';
}
