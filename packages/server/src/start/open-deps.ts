import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import type { GatehouseConfig } from '../config/types.js';
import { deriveChallengeKey, deriveDeviceCookieKey, deriveFederationTransactionKey, deriveMfaSecretKey, deriveAuditPseudonymKey } from '../auth/derived-keys.js';
import type { Deps, FeedMode, MetricsHub } from '../context.js';
import { mailOf } from '../auth/email/mail.js';
import { openKeyring } from '../crypto/keyring.js';
import { loadOrCreateMasterKey } from '../crypto/master-key.js';
import { deriveRefreshRotationKey } from '../crypto/rotation-key.js';
import { ClusterRevocationFeed, type FeedRelay } from '../stores/revocations/cluster-feed.js';
import { InProcessRevocationFeed } from '../stores/revocations/in-process-feed.js';
import { RedisRateLimitStore } from '../stores/rate-limits/redis-rate-limit-store.js';
import { openPostgresStores } from '../stores/postgres/open-postgres-stores.js';
import { createRequestPathRedis, whenRedisReady } from '../stores/redis/redis-client.js';
import { NoHotCache, RedisHotCache } from '../stores/redis/redis-hot-cache.js';
import { RedisPendingRevocations } from '../stores/redis/redis-pending-revocations.js';
import { describeRedis, RedisRevocationFeed } from '../stores/redis/redis-revocation-feed.js';
import { openSqliteStores } from '../stores/sqlite/open-sqlite-stores.js';
import type { HotCache, PendingRevocationStore, RevocationFeed, Stores } from '../stores/types.js';
import { checkWritable } from '../stores/health/disk-check.js';
import { SQLITE_FILE_NAME } from '../stores/sqlite/database.js';
import { Probe, type ProbeOptions } from '../stores/health/probe.js';
import { systemClock, type Clock } from '../util/clock.js';
import { createLogger, type Logger } from '../util/logger.js';

export interface OpenDepsOptions {
  logger?: Logger;
  clock?: Clock;
  /**
   * Use `config.redisUrl` (feed, hot copy, counters). Default true; one-shot CLI commands
   * (`users`, `keys`) pass false: they publish nothing and need no counters.
   */
  redis?: boolean;
  /** PostgreSQL schema (tests use a private one); default `public`. */
  postgresSchema?: string;
  /** Feed settings (tests shorten the polling interval; without Redis it overrides revocations.pollIntervalMs). */
  feed?: { pollIntervalMs?: number; heartbeatMs?: number };
  /** Key prefix of the Redis hot copy (tests sharing one Redis); default `gatehouse:hot:`. */
  hotCachePrefix?: string;
  /**
   * Background checks of the stores (PostgreSQL's circuit breaker among them) and the interval
   * of the "still down" log summary (tests shorten them).
   */
  health?: { probe?: Omit<ProbeOptions, 'check'>; summaryIntervalMs?: number };
  /**
   * The sibling processes of `--workers N` (start/cluster.ts). Without Redis the in-process feed
   * reaches them through it at once (stores/revocations/cluster-feed.ts); with Redis every
   * process subscribes to Redis itself and this is unused.
   */
  feedRelay?: FeedRelay;
  /** The cluster's /metrics (`--workers N`, start/cluster-ipc.ts); absent: this process alone. */
  metricsHub?: MetricsHub;
}

export interface OpenedDeps {
  deps: Deps;
  /** The `stores:` start line: which store holds what (never a password). */
  storesLine: string;
  close(): Promise<void>;
}

/** Longest life of a hot copy in Redis, whatever the session's remaining life (ms). */
const HOT_COPY_CAP_MS = 3600_000;
/** How long start waits for Redis before going on without it (it is an accelerator). */
const REDIS_START_WAIT_MS = 1500;

/**
 * Opens the stores, master key, keyring and feed that every role and CLI command works on:
 * SQLite in the data directory, or PostgreSQL (`databaseUrl`, master key required); the
 * in-process feed, or Redis pub/sub with polling (`redisUrl`), plus the Redis hot copy and
 * shared rate-limit counters.
 */
export async function openDeps(config: GatehouseConfig, options: OpenDepsOptions = {}): Promise<OpenedDeps> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel, undefined, config.log.format);
  config.dataDir = resolve(config.dataDir);
  const postgres = config.databaseUrl !== null;
  // The data directory holds the SQLite file and a generated master key; with PostgreSQL
  // (master key required) this process writes nothing there (the demo notes store makes its own).
  if (!postgres) mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // With a shared database every instance must decrypt the same signing keys.
  const masterKey = await loadOrCreateMasterKey({ configured: config.masterKey, dataDir: config.dataDir, required: postgres });

  const cleanups: Array<() => Promise<void> | void> = [];
  const close = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.warn({ err }, 'error while closing the stores');
      }
    }
  };

  try {
    let stores: Stores;
    if (config.databaseUrl !== null) {
      const sqlStores = await openPostgresStores({
        url: config.databaseUrl,
        ...(options.postgresSchema !== undefined ? { schema: options.postgresSchema } : {}),
        clock,
        onMigrated: (applied) => {
          if (applied.length > 0) logger.info({ applied }, 'PostgreSQL migrations applied');
        },
        // The outage itself is logged once by stores.health (down, back, summaries).
        onPoolError: (err) => logger.debug({ err }, 'PostgreSQL connection lost; it reconnects on the next query'),
        ...(options.health?.probe !== undefined ? { health: options.health.probe } : {}),
      });
      stores = sqlStores;
    } else {
      stores = await openSqliteStores({ file: join(config.dataDir, SQLITE_FILE_NAME), clock });
    }
    cleanups.push(() => stores.close());
    const health = stores.health;
    if (postgres) {
      // The data directory (master key, and the disk a co-located PostgreSQL may share):
      // a full disk shows in /readyz. With SQLite the database's own storage check covers it.
      const dataDir = config.dataDir;
      health.add(new Probe('disk', `data directory ${dataDir}`, { check: () => checkWritable(dataDir), intervalMs: 10_000, downIntervalMs: 2_000, timeoutMs: 2_000 }));
    }

    let feed: RevocationFeed;
    let feedMode: () => FeedMode = () => 'in-process';
    let hotCache: HotCache = new NoHotCache();
    let pendingRevocations: PendingRevocationStore | undefined;
    const sqlLabel = stores.describe.users;
    const durableName = postgres ? 'PostgreSQL' : 'the database';
    const parts = [`users, sessions, keys: ${sqlLabel}`];

    if (config.redisUrl !== null && options.redis !== false) {
      const redisUrl = config.redisUrl;
      const label = describeRedis(redisUrl);
      // Redis's state for /readyz and the logs (one line when it goes, one when it is back):
      // the client's own events at once, plus a PING in the background for a Redis that hangs.
      const redisProbe = new Probe('redis', `${label} (hot copy, rate limits)`, { check: async () => void (await client.ping()), ...options.health?.probe });
      const client: Redis = createRequestPathRedis({
        url: redisUrl,
        connectionName: 'gatehouse-hot',
        onError: (err) => redisProbe.fail(err),
      });
      client.on('ready', () => redisProbe.ok());
      client.on('close', () => redisProbe.fail(Object.assign(new Error('connection closed'), { code: 'ECONNCLOSED' })));
      cleanups.push(() => {
        redisProbe.stop();
        client.disconnect();
      });
      health.add(redisProbe, { owned: false });
      const redisFeed = new RedisRevocationFeed({
        url: redisUrl,
        revocations: stores.revocations,
        clock,
        logger,
        ...(options.feed?.pollIntervalMs !== undefined ? { pollIntervalMs: options.feed.pollIntervalMs } : {}),
        ...(options.feed?.heartbeatMs !== undefined ? { heartbeatMs: options.feed.heartbeatMs } : {}),
        onHandlerError: (err) => logger.error({ err }, 'a revocation handler failed'),
      });
      cleanups.push(() => redisFeed.close());
      await Promise.all([redisFeed.start(), whenRedisReady(client, REDIS_START_WAIT_MS)]);
      feed = redisFeed;
      feedMode = () => redisFeed.status();
      // The hot copy never outlives the gateways' memory of a revocation (access-token
      // lifetime + leeway), so a copy that escaped deletion is always refused by the set.
      const cap = Math.min(HOT_COPY_CAP_MS, config.tokens.accessTokenTtlSec * 1000);
      hotCache = new RedisHotCache({ client, url: redisUrl, maxTtlMs: cap, ...(options.hotCachePrefix !== undefined ? { prefix: options.hotCachePrefix } : {}) });
      // Revocations taken while PostgreSQL is away wait here until an instance applies them.
      pendingRevocations = new RedisPendingRevocations({ client, ...(options.hotCachePrefix !== undefined ? { key: `${options.hotCachePrefix}revocations:pending` } : {}) });
      const rateLimits = new RedisRateLimitStore({ client });
      const base = stores;
      stores = {
        ...base,
        rateLimits,
        describe: { ...base.describe, rateLimits: label },
        async ready() {
          return { ...(await base.ready()), rateLimits: rateLimits.shared() };
        },
        health,
        close: () => base.close(),
      };
      parts.push(`hot copy: ${label}`, `revocation feed: Redis pub/sub (polling ${durableName} while Redis is away)`, 'rate limits: Redis');
    } else {
      // Other processes (the CLI's `clients remove`) cannot reach this feed: a gateway reads what
      // they recorded from the revocation log every revocations.pollIntervalMs (one indexed SELECT).
      const pollMs = options.feed?.pollIntervalMs ?? config.revocations.pollIntervalMs;
      const inProcess = new InProcessRevocationFeed({
        onHandlerError: (err) => logger.error({ err }, 'a revocation handler failed'),
        ...(pollMs > 0 ? { poll: { revocations: stores.revocations, clock, intervalMs: pollMs, logger } } : {}),
      });
      cleanups.push(() => inProcess.close());
      feed = options.feedRelay !== undefined ? new ClusterRevocationFeed(inProcess, options.feedRelay) : inProcess;
      const relayed = options.feedRelay !== undefined ? ', relayed to every worker' : '';
      parts.push('hot copy: memory', `revocation feed: in-process${relayed}${pollMs > 0 ? ` (reading ${durableName}'s revocation log every ${pollMs} ms)` : ''}`, `rate limits: ${stores.describe.rateLimits}`);
    }

    // From here on every store outage is logged once per state change, with a summary while down.
    health.attachLogger(logger, options.health?.summaryIntervalMs);

    const keyring = await openKeyring({ store: stores.keys, masterKey: masterKey.key, clock });
    cleanups.push(() => keyring.close());
    const deps: Deps = {
      config,
      clock,
      logger,
      stores,
      feed,
      keyring,
      refreshRotationKey: deriveRefreshRotationKey(masterKey.key),
      deviceCookieKey: deriveDeviceCookieKey(masterKey.key),
      challengeKey: deriveChallengeKey(masterKey.key),
      federationKey: deriveFederationTransactionKey(masterKey.key),
      mfaKey: deriveMfaSecretKey(masterKey.key),
      auditPseudonymKey: deriveAuditPseudonymKey(masterKey.key),
      hotCache,
      ...(pendingRevocations !== undefined ? { pendingRevocations } : {}),
      feedMode,
      ...(options.metricsHub !== undefined ? { metricsHub: options.metricsHub } : {}),
    };
    // Mail still going out (a notification of a CLI command's security event) before the stores close.
    cleanups.push(() => mailOf(deps).close());
    return {
      deps,
      storesLine: parts.join('; '),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
