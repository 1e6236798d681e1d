export type { RevocationEvent, RevocationFeed, RevocationStore } from '../types.js';
export { InProcessRevocationFeed } from './in-process-feed.js';
export { SqliteRevocationStore } from './sqlite-revocation-store.js';
