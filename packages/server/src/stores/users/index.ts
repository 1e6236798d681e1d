export { UsernameTakenError, type UserRecord, type UserStore } from '../types.js';
export { SqliteUserStore } from './sqlite-user-store.js';
