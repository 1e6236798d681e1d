export type { RefreshTokenRecord, RefreshTokenStore } from '../types.js';
export { SqlRefreshTokenStore } from './sql-refresh-token-store.js';
