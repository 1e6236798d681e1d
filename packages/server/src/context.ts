import type { Registry } from 'prom-client';
import type { GatehouseConfig } from './config/types.js';
import type { Keyring } from './crypto/keyring-types.js';
import type { HotCache, PendingRevocationStore, RevocationFeed, Stores } from './stores/types.js';
import type { Clock } from './util/clock.js';
import type { Logger } from './util/logger.js';

/** What the auth service and the gateway are built from. Tests build one with a ManualClock. */
export interface Deps {
  config: GatehouseConfig;
  clock: Clock;
  logger: Logger;
  stores: Stores;
  feed: RevocationFeed;
  keyring: Keyring;
  /** HKDF of the master key for refresh-token rotation (`crypto/rotation-key.ts`); never logged. */
  refreshRotationKey: Uint8Array;
  /** HKDF of the master key that signs the `gatehouse_known_device` cookie (`auth/derived-keys.ts`); never logged. */
  deviceCookieKey: Uint8Array;
  /** HKDF of the master key that signs proof-of-work challenges (`auth/derived-keys.ts`); never logged. */
  challengeKey: Uint8Array;
  /** HKDF of the master key that seals the federation transaction cookie (`auth/derived-keys.ts`, `auth/federation/transaction.ts`); never logged. */
  federationKey: Uint8Array;
  /** HKDF of the master key that encrypts TOTP secrets at rest (`auth/derived-keys.ts`, `auth/mfa/totp.ts`); never logged. */
  mfaKey: Uint8Array;
  /** HKDF of the master key under which a deleted user's id becomes their audit pseudonym (`auth/derived-keys.ts`, `auth/admin/lifecycle.ts`); never logged. */
  auditPseudonymKey: Uint8Array;
  /** Shared hot copy of sessions and API tokens (Redis in scale-out). Absent: none (embedded). */
  hotCache?: HotCache;
  /**
   * Where revocations taken while the durable store is away wait for it (Redis in scale-out).
   * Absent (embedded): such a revocation answers 503.
   */
  pendingRevocations?: PendingRevocationStore;
  /** How revocations spread right now, for /readyz and /metrics. Absent: 'in-process'. */
  feedMode?: () => FeedMode;
  /** The process's lifecycle: while `draining` (SIGTERM), /readyz answers 503 `draining` at once. Absent: serving. */
  lifecycle?: { readonly draining: boolean };
  /**
   * The processes of `--workers N` (start/cluster-ipc.ts): this process's registries are added,
   * and /metrics answers the aggregate of every process. Absent: this process alone.
   */
  metricsHub?: MetricsHub;
}

/** What /metrics reads in a cluster (start/cluster-ipc.ts). */
export interface MetricsHub {
  /** Adds a registry of this process to what it reports (the same one twice counts once). */
  add(registry: Registry): void;
  /** The exposition of every process of the cluster, aggregated (prom-client's cluster aggregator). */
  text(): Promise<string>;
}

/** `pubsub`/`polling`: the Redis feed (polling the revocation store while Redis is away). */
export type FeedMode = 'pubsub' | 'polling' | 'in-process';
