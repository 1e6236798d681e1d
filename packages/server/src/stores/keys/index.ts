export type { KeyRecord, KeyStore } from '../types.js';
export { SqliteKeyStore } from './sqlite-key-store.js';
