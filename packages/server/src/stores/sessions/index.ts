export type { SessionRecord, SessionStore } from '../types.js';
export { SqlSessionStore } from './sql-session-store.js';
