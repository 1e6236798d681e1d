export type { ApiTokenRecord, ApiTokenStore } from '../types.js';
export { SqlApiTokenStore } from './sql-api-token-store.js';
