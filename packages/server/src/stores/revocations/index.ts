export type { RevocationEvent, RevocationFeed, RevocationStore } from '../types.js';
export { InProcessRevocationFeed } from './in-process-feed.js';
export { SqlRevocationStore } from './sql-revocation-store.js';
