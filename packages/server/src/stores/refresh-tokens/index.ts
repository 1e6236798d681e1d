export type { RefreshTokenRecord, RefreshTokenStore } from '../types.js';
export { SqliteRefreshTokenStore } from './sqlite-refresh-token-store.js';
