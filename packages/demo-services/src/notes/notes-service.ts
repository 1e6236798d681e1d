import { createServiceApp, listen, passportOf } from '../common/service-app.js';
import { ServiceError } from '../common/problem.js';
import type { RunningService, ServiceOptions } from '../service-options.js';
import { NotesStore } from './notes-store.js';

export const NOTE_MAX_LENGTH = 10_000;

const noteBody = {
  type: 'object',
  additionalProperties: false,
  required: ['text'],
  properties: { text: { type: 'string', minLength: 1, maxLength: NOTE_MAX_LENGTH } },
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string' } },
} as const;

interface NoteBody {
  text: string;
}
interface IdParams {
  id: string;
}

/** A user's notes in the service's own SQLite database, keyed by the passport's `sub`. */
export async function startNotesService(options: ServiceOptions): Promise<RunningService> {
  const store = await NotesStore.open(options.dataDir);
  const app = createServiceApp('notes', options);
  const notFound = () => new ServiceError('not_found', 'No such note.');

  app.get('/api/notes', async (request) => ({ notes: await store.list(passportOf(request).sub) }));

  app.post<{ Body: NoteBody }>('/api/notes', { schema: { body: noteBody } }, async (request, reply) => {
    const note = await store.create(passportOf(request).sub, request.body.text);
    return reply.code(201).header('location', `/api/notes/${note.id}`).send(note);
  });

  app.get<{ Params: IdParams }>('/api/notes/:id', { schema: { params: idParams } }, async (request) => {
    const note = await store.get(passportOf(request).sub, request.params.id);
    if (!note) throw notFound();
    return note;
  });

  app.put<{ Params: IdParams; Body: NoteBody }>(
    '/api/notes/:id',
    { schema: { params: idParams, body: noteBody } },
    async (request) => {
      const note = await store.update(passportOf(request).sub, request.params.id, request.body.text);
      if (!note) throw notFound();
      return note;
    },
  );

  app.delete<{ Params: IdParams }>('/api/notes/:id', { schema: { params: idParams } }, async (request, reply) => {
    if (!(await store.delete(passportOf(request).sub, request.params.id))) throw notFound();
    return reply.code(204).send();
  });

  return listen(app, options, () => store.close());
}
