import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotesService } from './index.js';
import type { Note, RunningService } from './index.js';
import { ISSUER, algNone, call, makeSigner, problemOf } from './demo.test-helpers.js';
import type { Signer } from './demo.test-helpers.js';

let signer: Signer;
let service: RunningService;
let alice: string;
let bob: string;
let dataDir: string;

beforeAll(async () => {
  signer = await makeSigner();
  dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-notes-'));
  service = await startNotesService({ verifier: { jwks: signer.jwks, issuer: ISSUER }, dataDir, logger: false });
  alice = await signer.sign({ aud: 'notes', sub: 'user-alice', username: 'alice' });
  bob = await signer.sign({ aud: 'notes', sub: 'user-bob', username: 'bob' });
});
afterAll(async () => {
  await service.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const notesUrl = () => `${service.url}/api/notes`;

async function create(passport: string, text: string): Promise<Note> {
  const res = await call(notesUrl(), { method: 'POST', passport, json: { text } });
  expect(res.status).toBe(201);
  return res.body as Note;
}

describe('notes service', () => {
  it('creates, lists newest first, reads, updates and deletes a note', async () => {
    const first = await create(alice, 'first');
    const second = await create(alice, 'second ✓');
    expect(first).toEqual({ id: expect.any(String), text: 'first', created_at: expect.any(String), updated_at: expect.any(String) });

    const list = await call(notesUrl(), { passport: alice });
    expect(list.status).toBe(200);
    const texts = (list.body as { notes: Note[] }).notes.map((n) => n.text);
    expect(texts.slice(0, 2)).toEqual(['second ✓', 'first']);

    expect((await call(`${notesUrl()}/${first.id}`, { passport: alice })).body).toEqual(first);

    const put = await call(`${notesUrl()}/${second.id}`, { method: 'PUT', passport: alice, json: { text: 'edited' } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id: second.id, text: 'edited', created_at: second.created_at });

    const del = await call(`${notesUrl()}/${first.id}`, { method: 'DELETE', passport: alice });
    expect(del.status).toBe(204);
    expect(problemOf(await call(`${notesUrl()}/${first.id}`, { passport: alice })).code).toBe('not_found');
  });

  it("one user cannot see, change or delete another's note: 404, as if it did not exist", async () => {
    const secret = await create(alice, 'alice only');
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const id of [secret.id, missing]) {
      const get = await call(`${notesUrl()}/${id}`, { passport: bob });
      const put = await call(`${notesUrl()}/${id}`, { method: 'PUT', passport: bob, json: { text: 'pwned' } });
      const del = await call(`${notesUrl()}/${id}`, { method: 'DELETE', passport: bob });
      for (const res of [get, put, del]) {
        expect(res.status).toBe(404);
        expect(problemOf(res)).toMatchObject({ code: 'not_found', detail: 'No such note.' });
      }
    }
    const bobs = (await call(notesUrl(), { passport: bob })).body as { notes: Note[] };
    expect(bobs.notes.find((n) => n.id === secret.id)).toBeUndefined();
    expect((await call(`${notesUrl()}/${secret.id}`, { passport: alice })).body).toMatchObject({ text: 'alice only' });
  });

  it('keeps its database private: notes.db (and its -wal/-shm) 0600, a 0644 file left by an older version tightened', async () => {
    await create(alice, 'private');
    for (const f of ['notes.db', 'notes.db-wal', 'notes.db-shm']) {
      const file = join(dataDir, f);
      if (existsSync(file)) expect((statSync(file).mode & 0o777).toString(8), f).toBe('600');
    }
    const old = mkdtempSync(join(tmpdir(), 'gatehouse-notes-old-'));
    try {
      const first = await startNotesService({ verifier: { jwks: signer.jwks, issuer: ISSUER }, dataDir: old, logger: false });
      await first.close();
      chmodSync(join(old, 'notes.db'), 0o644);
      const again = await startNotesService({ verifier: { jwks: signer.jwks, issuer: ISSUER }, dataDir: old, logger: false });
      await again.close();
      expect((statSync(join(old, 'notes.db')).mode & 0o777).toString(8)).toBe('600');
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  it('keeps notes in its own SQLite file across a restart', async () => {
    const note = await create(alice, 'durable');
    const again = await startNotesService({ verifier: { jwks: signer.jwks, issuer: ISSUER }, dataDir, logger: false });
    try {
      expect((await call(`${again.url}/api/notes/${note.id}`, { passport: alice })).body).toEqual(note);
    } finally {
      await again.close();
    }
  });

  it('refuses bodies that are not exactly {text: 1..10000 chars}', async () => {
    const bad: unknown[] = [{}, { text: '' }, { text: 'x'.repeat(10_001) }, { text: 1 }, { text: ['a'] }, { text: 'ok', extra: 1 }, [], 'text', null];
    for (const json of bad) {
      const res = await call(notesUrl(), { method: 'POST', passport: alice, json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(problemOf(res).code).toBe('invalid_body');
    }
    expect((await call(notesUrl(), { method: 'POST', passport: alice, json: { text: 'x'.repeat(10_000) } })).status).toBe(201);
    const notJson = await call(notesUrl(), { method: 'POST', passport: alice, body: '{"text":', contentType: 'application/json' });
    expect(notJson.status).toBe(400);
    expect(problemOf(notJson).code).toBe('invalid_body');
    const form = await call(notesUrl(), { method: 'POST', passport: alice, body: 'text=hi', contentType: 'application/x-www-form-urlencoded' });
    expect(problemOf(form)).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    const plain = await call(notesUrl(), { method: 'POST', passport: alice, body: 'hi', contentType: 'text/plain' });
    expect(problemOf(plain)).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    const huge = await call(notesUrl(), { method: 'POST', passport: alice, json: { text: 'x'.repeat(70_000) } });
    expect(problemOf(huge)).toMatchObject({ status: 413, code: 'payload_too_large' });
    const put = await call(`${notesUrl()}/whatever`, { method: 'PUT', passport: alice, json: { text: 'a', id: 'b' } });
    expect(problemOf(put)).toMatchObject({ status: 400, code: 'invalid_body' });
  });

  it('trusts only a valid passport for the notes audience', async () => {
    // [passport, the cause WWW-Authenticate names]; the body says only missing_passport or invalid_passport.
    const cases: [string | undefined, string | undefined][] = [
      [undefined, undefined],
      [algNone(alice), 'passport_malformed'],
      [algNone(alice, 'None'), 'passport_malformed'],
      [await (await makeSigner()).sign({ aud: 'notes', sub: 'user-alice' }), 'signature_invalid'],
      [await signer.sign({ aud: 'home', sub: 'user-alice' }), 'audience_mismatch'],
      [await signer.sign({ aud: 'notes', header: { typ: 'at+jwt' } }), 'passport_wrong_type'],
      [await signer.sign({ aud: 'notes', claims: { iss: 'http://evil.example' } }), 'issuer_mismatch'],
      ['garbage', 'passport_malformed'],
    ];
    for (const [passport, cause] of cases) {
      for (const [method, path] of [['GET', '/api/notes'], ['POST', '/api/notes'], ['GET', '/api/nope']] as const) {
        const res = await call(`${service.url}${path}`, { method, passport, json: method === 'POST' ? { text: 'x' } : undefined });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe(
          cause === undefined ? 'Passport realm="gatehouse"' : `Passport realm="gatehouse", error="invalid_token", error_description="${cause}"`,
        );
        expect(problemOf(res).code).toBe(cause === undefined ? 'missing_passport' : 'invalid_passport');
      }
    }
  });

  it('answers unknown routes with a 404 problem, and says no-store', async () => {
    const res = await call(`${service.url}/api/nope`, { passport: alice });
    expect(problemOf(res)).toMatchObject({ status: 404, code: 'not_found' });
    expect((await call(notesUrl(), { passport: alice })).headers.get('cache-control')).toBe('no-store');
  });
});
