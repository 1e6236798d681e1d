export * from './types.js';
export { openSqliteStores, type SqliteStoresOptions } from './sqlite/open-sqlite-stores.js';
export { InProcessRevocationFeed } from './revocations/in-process-feed.js';
export { MemoryRateLimitStore } from './rate-limits/memory-rate-limit-store.js';
