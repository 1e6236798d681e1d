export { startNotesService, NOTE_MAX_LENGTH } from './notes/notes-service.js';
export { startHomeService } from './home/home-service.js';
export { startAdminService, ADMIN_ROLE } from './admin/admin-service.js';
export type { Note } from './notes/notes-store.js';
export type { RunningService, ServiceOptions } from './service-options.js';
