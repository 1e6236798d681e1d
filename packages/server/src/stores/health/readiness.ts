import type { Deps } from '../../context.js';
import type { PartReport } from './store-health.js';

export type ReadinessStatus = 'ready' | 'degraded' | 'unavailable' | 'draining';

export interface Readiness {
  code: 200 | 503;
  body: {
    status: ReadinessStatus;
    /** Each store interface: whether it answers now (the SQL ones share the database). */
    stores: Record<string, boolean>;
    /** Each part behind them (database with its circuit breaker, storage, Redis, disk): state, since, why. */
    parts: Record<string, PartReport>;
    feed: string;
    hotCache: string;
  };
}

/**
 * /readyz of the gateway and of the auth service, from the states `stores.health` keeps up to
 * date in the background: never a store call, so it answers in microseconds whatever hangs.
 * `draining` (SIGTERM) short-circuits everything with 503. Otherwise `ready` when every part is
 * up; `degraded` (200) while a part is away or cannot store data (disk full) but the role still
 * serves; `unavailable` (503) when it cannot: the gateway without its database and without a
 * warm revocation set (`canServeWithoutDatabase`), the auth service without its database.
 */
export function readiness(deps: Pick<Deps, 'stores' | 'feedMode' | 'hotCache' | 'lifecycle'>, canServeWithoutDatabase: boolean): Readiness {
  const feed = deps.feedMode?.() ?? 'in-process';
  const hotCache = deps.hotCache?.status() ?? 'none';
  const health = deps.stores.health;
  const parts = health.parts();
  if (deps.lifecycle?.draining === true) return { code: 503, body: { status: 'draining', stores: {}, parts, feed, hotCache } };
  const database = health.isUp('database');
  const stores: Record<string, boolean> = {};
  for (const key of Object.keys(deps.stores.describe)) stores[key] = database;
  // Counters are shared through Redis when there is one; in memory they always answer.
  stores.rateLimits = parts.redis === undefined ? true : parts.redis.state === 'up';
  const allUp = Object.values(parts).every((p) => p.state === 'up') && feed !== 'polling' && hotCache !== 'down';
  const status: ReadinessStatus = allUp ? 'ready' : database || canServeWithoutDatabase ? 'degraded' : 'unavailable';
  return { code: status === 'unavailable' ? 503 : 200, body: { status, stores, parts, feed, hotCache } };
}
