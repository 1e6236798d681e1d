export type RouteAuth = 'required' | 'optional' | 'none';

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
  /** Scopes token credentials need, by HTTP method; "*" for any other method. Cookie sessions have every scope. */
  scopes?: Record<string, string[]>;
  /** Content types accepted for request bodies (default: JSON only). */
  contentTypes?: string[];
  /** Largest request body in bytes (default: gateway.maxBodyBytes). */
  maxBodyBytes?: number;
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

export interface GatehouseConfig {
  /** Public gateway port; 0 picks a free one. */
  port: number;
  /** Address the gateway binds. */
  host: string;
  /** The URL users reach the gateway at; decides the Origin check, Secure cookies and the issuer. */
  publicUrl: string | null;
  /** Where the SQLite file, the master key and demo data live. */
  dataDir: string;
  /** Base64url or hex master key (>= 32 bytes) that encrypts signing keys; generated into dataDir when unset. */
  masterKey: string | null;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Port of the internal admin listener (/metrics, detailed /readyz, /healthz); null: none. */
  adminPort: number | null;
  /** Address the admin listener binds (loopback by default). */
  adminHost: string;
  /** PostgreSQL URL for every SQL store (scale-out); null: the SQLite file in dataDir. Never logged. */
  databaseUrl: string | null;
  /** Redis URL: revocation feed over pub/sub, hot copy of sessions and API tokens, rate-limit counters. Never logged. */
  redisUrl: string | null;
  /** Base URL of the auth service, for `gatehouse gateway` (required there). */
  authUrl: string | null;
  /** Port of `gatehouse auth` (0 picks a free one). */
  authPort: number;
  /** Include the demo routes (notes, home, admin). */
  demo: boolean;
  /** Routes from the config file, matched before the demo routes. */
  routes: RouteConfig[];
  session: {
    /** Sliding lifetime of a persistent session (seconds). */
    slidingTtlSec: number;
    /** Absolute lifetime of any session (seconds). */
    absoluteTtlSec: number;
    /** Server-side lifetime of a browser-session (remember:false) session (seconds, sliding). */
    browserSessionTtlSec: number;
    /** At most one last-seen/expiry write per session per this many seconds. */
    touchIntervalSec: number;
    /** How long the gateway trusts a cached session before re-reading the store (ms). Revocation clears it at once. */
    cacheTtlMs: number;
    /** Most sessions the gateway keeps in memory. */
    cacheMax: number;
  };
  passport: {
    /** Passport lifetime (seconds, <= 60). */
    ttlSec: number;
    /** A cached passport is reused until this many seconds before it expires. */
    renewBeforeSec: number;
    /** Issuer (`iss`) of passports and access tokens; defaults to publicUrl. */
    issuer: string | null;
  };
  gateway: {
    /** Identity headers removed from every client request (lower case; a trailing * matches a prefix). x-passport is always removed. */
    stripHeaders: string[];
    /** Largest request body in bytes. */
    maxBodyBytes: number;
    /** Time to connect to an upstream (ms). */
    upstreamConnectTimeoutMs: number;
    /** Time for an upstream to send its response headers (ms). */
    upstreamHeadersTimeoutMs: number;
    /** Time between body chunks from an upstream (ms). */
    upstreamBodyTimeoutMs: number;
    /** Keep-alive connections per upstream. */
    upstreamConnections: number;
    /** Addresses/CIDR blocks (IPv4, IPv6) of reverse proxies whose forwarding header is believed. Empty: none. */
    trustedProxies: string[];
    /** The forwarding header the trusted proxies write: "x-forwarded-for" or "forwarded" (RFC 7239). Only that one is read. */
    clientIpHeader: 'x-forwarded-for' | 'forwarded';
    /** Hosts (`name[:port]`) routed requests may name besides the public URL's; `"*"`: any. */
    allowedHosts: string[];
    /** Time for a client to send the complete request headers (ms); then 408 and the connection closes. */
    headersTimeoutMs: number;
    /** Time for a client to send the complete request, body included (ms); 0: no limit. */
    requestTimeoutMs: number;
    /** How long an idle kept-alive client connection stays open (ms). */
    keepAliveTimeoutMs: number;
    /** Most open client connections in all (0: no limit); more are closed at once, unread. */
    maxConnections: number;
    /** Most open connections from one client address (0: no limit); `trustedProxies` are exempt. */
    maxConnectionsPerAddress: number;
  };
  /** CORS for routed paths; off while `origins` is empty. */
  cors: {
    /** Exact origins (`https://app.example.com`) allowed to call the gateway from a browser. */
    origins: string[];
    /** Send `Access-Control-Allow-Credentials: true` to allowed origins (cookies; writes still need the CSRF token). */
    allowCredentials: boolean;
    /** `Access-Control-Max-Age` of preflight answers (seconds). */
    maxAgeSec: number;
  };
  tokens: {
    /** Lifetime of an access token (seconds). */
    accessTokenTtlSec: number;
    /**
     * The scopes tokens may carry: what a password grant without `scope` gets, what an API token
     * without `scopes` gets, and the set any requested scope must come from. List every scope the
     * route table names.
     */
    defaultScopes: string[];
  };
  introspection: {
    /** Callers allowed to use POST /auth/introspect. None by default (the endpoint refuses everyone). */
    clients: IntrospectionClient[];
  };
  password: {
    minLength: number;
    /** Longest password accepted (never truncated). */
    maxLength: number;
    /** Most argon2id hashes computed at once (the rest queue). */
    maxConcurrentHashes: number;
    /** Nice value (0..19, Linux) of the hashing threads; 0 = the priority of request handling. */
    hashNice: number;
    /** Longest expected wait (ms) in the hashing queue; a hash expected to wait longer is refused at once (503 busy). */
    maxHashWaitMs: number;
    /** Most hashes one client address (IPv6 by its /64) may have admitted at once, outside the known-device lane (0: no cap). */
    maxQueuedHashesPerIp: number;
    /** Most hashes one username may have admitted at once, per lane (0: no cap). */
    maxQueuedHashesPerUsername: number;
  };
  /** Abuse limits of sign-in (`POST /auth/signin` and the token endpoint's password grant together). */
  signin: {
    /** Failed attempts per canonical username per window; the next attempt gets 429 (right password or not). */
    maxFailures: number;
    /** The per-account window (seconds), from its first failure. */
    lockWindowSec: number;
    /** Failed attempts per (account, device cookie) per window, for a browser that signed in to that account before. */
    knownDeviceMaxFailures: number;
    /** Sign-in attempts per client IP per minute (0: no per-IP limit). */
    perIpPerMinute: number;
  };
  signup: {
    /** Sign-up attempts per client IP per minute (0: no per-IP limit). */
    perIpPerMinute: number;
    /** Proof-of-work for sign-up: "off" (only when switched on automatically) or "pow" (always). */
    challenge: 'off' | 'pow';
    /** Difficulty: the secret number is drawn from 0..challengeMaxNumber. */
    challengeMaxNumber: number;
    /** How long a challenge may be solved and used (seconds). */
    challengeTtlSec: number;
    autoChallenge: {
      /** More sign-up attempts than this from one IP in a minute turn the challenge on for that IP (0: never). */
      perIpPerMinute: number;
      /** More sign-up attempts than this in a minute overall turn it on for everyone (0: never). */
      globalPerMinute: number;
      /** How long an automatic challenge stays on (seconds). */
      durationSec: number;
    };
  };
  audit: {
    /** Security events older than this are deleted (days). */
    retentionDays: number;
  };
  /** Graceful stop (SIGTERM, SIGINT). */
  shutdown: {
    /** Longest wait for requests in flight to finish before the rest are cut and the process exits (ms). */
    drainTimeoutMs: number;
  };
  metrics: {
    /** With it, the public /metrics and detailed /readyz answer `Authorization: Bearer <secret>`. Never logged. */
    bearerSecret: string | null;
  };
  log: {
    /** Log line format: auto (pretty on a terminal, JSON otherwise), json or pretty. */
    format: 'auto' | 'json' | 'pretty';
    /** One info line per gateway request (method, route, status, duration, user id, request id). */
    access: boolean;
  };
}
