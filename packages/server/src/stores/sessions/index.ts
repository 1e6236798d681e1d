export type { SessionRecord, SessionStore } from '../types.js';
export { SqliteSessionStore } from './sqlite-session-store.js';
