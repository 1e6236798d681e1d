export { UsernameTakenError, type UserRecord, type UserStore } from '../types.js';
export { SqlUserStore } from './sql-user-store.js';
