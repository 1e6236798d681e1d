export type { ApiTokenRecord, ApiTokenStore } from '../types.js';
export { SqliteApiTokenStore } from './sqlite-api-token-store.js';
