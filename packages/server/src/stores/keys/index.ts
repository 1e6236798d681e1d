export type { KeyRecord, KeyStore } from '../types.js';
export { SqlKeyStore } from './sql-key-store.js';
