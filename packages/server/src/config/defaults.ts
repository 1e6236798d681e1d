import { availableParallelism } from 'node:os';
import type { GatehouseConfig } from './types.js';

/**
 * Every configuration default, in one place. `docs/configuration.md` documents each key;
 * `config.test.ts` checks that every key here is documented there.
 */
export const DEFAULTS: GatehouseConfig = {
  port: 8080,
  host: '127.0.0.1',
  publicUrl: null,
  dataDir: './data',
  masterKey: null,
  logLevel: 'info',
  adminPort: null,
  adminHost: '127.0.0.1',
  databaseUrl: null,
  redisUrl: null,
  authUrl: null,
  authPort: 0,
  demo: true,
  routes: [],
  session: {
    slidingTtlSec: 30 * 24 * 3600,
    absoluteTtlSec: 90 * 24 * 3600,
    browserSessionTtlSec: 24 * 3600,
    touchIntervalSec: 300,
    cacheTtlMs: 30_000,
    cacheMax: 100_000,
  },
  passport: {
    ttlSec: 60,
    renewBeforeSec: 15,
    issuer: null,
  },
  gateway: {
    stripHeaders: ['x-user-*', 'x-auth-*', 'x-forwarded-user', 'x-remote-user', 'remote-user', 'x-roles'],
    maxBodyBytes: 64 * 1024,
    upstreamConnectTimeoutMs: 5_000,
    upstreamHeadersTimeoutMs: 30_000,
    upstreamBodyTimeoutMs: 30_000,
    upstreamConnections: 64,
    trustedProxies: [],
    clientIpHeader: 'x-forwarded-for',
    allowedHosts: [],
    // A client dribbling its headers was held ~78 s (Node's 60 s plus its 30 s check): cut at 10 s.
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    // Above the 60 s idle timeout of common load balancers, so they never reuse a connection we closed.
    keepAliveTimeoutMs: 65_000,
    maxConnections: 10_000,
    maxConnectionsPerAddress: 256,
  },
  cors: {
    origins: [],
    allowCredentials: true,
    maxAgeSec: 600,
  },
  tokens: {
    accessTokenTtlSec: 600,
    defaultScopes: ['notes:read', 'notes:write'],
  },
  introspection: {
    clients: [],
  },
  password: {
    minLength: 8,
    maxLength: 4096,
    // One core fewer than the machine has (at most 4, at least 1): argon2id runs on libuv's
    // threads, and on a small box a burst of sign-ins must leave the event loop a core for the
    // signed-in traffic (bench/signin.mjs, 2 cores: 4 at once cut that traffic ~10x, 1 by ~2x).
    maxConcurrentHashes: Math.max(1, Math.min(4, availableParallelism() - 1)),
    // Hashing threads run below request handling: under CPU contention signed-in traffic wins
    // over a burst of sign-ins (bench/signin.mjs).
    hashNice: 10,
    // Admission to the hashing queue (crypto/password-hasher.ts): past this expected wait a
    // hash is refused at once with 503 busy + Retry-After instead of queuing (bench/signin-flood.mjs).
    maxHashWaitMs: 2000,
    maxQueuedHashesPerIp: 8,
    maxQueuedHashesPerUsername: 5,
  },
  signin: {
    maxFailures: 5,
    lockWindowSec: 900,
    knownDeviceMaxFailures: 10,
    perIpPerMinute: 30,
  },
  signup: {
    perIpPerMinute: 10,
    challenge: 'off',
    challengeMaxNumber: 50_000,
    challengeTtlSec: 600,
    autoChallenge: {
      perIpPerMinute: 0,
      globalPerMinute: 60,
      durationSec: 600,
    },
  },
  audit: {
    retentionDays: 90,
  },
  shutdown: {
    drainTimeoutMs: 10_000,
  },
  metrics: {
    bearerSecret: null,
  },
  log: {
    format: 'auto',
    access: false,
  },
};

/** Environment variables and the config key each one sets. */
export const ENV_VARS = {
  GATEHOUSE_PORT: 'port',
  GATEHOUSE_HOST: 'host',
  GATEHOUSE_PUBLIC_URL: 'publicUrl',
  GATEHOUSE_DATA_DIR: 'dataDir',
  GATEHOUSE_MASTER_KEY: 'masterKey',
  GATEHOUSE_LOG_LEVEL: 'logLevel',
  GATEHOUSE_LOG_FORMAT: 'log.format',
  GATEHOUSE_ADMIN_PORT: 'adminPort',
  GATEHOUSE_ADMIN_HOST: 'adminHost',
  GATEHOUSE_METRICS_BEARER_SECRET: 'metrics.bearerSecret',
  GATEHOUSE_DATABASE_URL: 'databaseUrl',
  GATEHOUSE_REDIS_URL: 'redisUrl',
  GATEHOUSE_AUTH_URL: 'authUrl',
  GATEHOUSE_AUTH_PORT: 'authPort',
  GATEHOUSE_CONFIG: '(path of the JSON config file)',
} as const;
