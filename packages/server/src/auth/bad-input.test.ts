import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { StoreUnavailableError } from '../errors/index.js';
import { createAuthHarness, INTERNALS_RE, leakingBodies, passportFor, signinOk, signup, STRONG_PASSWORD, type AuthHarness } from './test-helpers.js';

let h: AuthHarness;
beforeAll(async () => {
  h = await createAuthHarness();
  await signup(h.app, 'nora');
});
afterAll(async () => {
  // No answer in this file leaks internals.
  expect(h.bodies.length).toBeGreaterThan(20);
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

function send(opts: InjectOptions) {
  return h.app.inject(opts);
}

function expectProblem(res: Awaited<ReturnType<typeof send>>, status: number, code: string): Record<string, unknown> {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.headers['cache-control']).toBe('no-store');
  const body = res.json() as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: `urn:gatehouse:error:${code}` });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  return body;
}

describe('bad input', () => {
  it('415 unsupported_media_type for a non-JSON body (text, form, none)', async () => {
    expectProblem(
      await send({ method: 'POST', url: '/auth/signin', headers: { 'content-type': 'text/plain' }, payload: 'username=nora' }),
      415,
      'unsupported_media_type',
    );
    expectProblem(
      await send({
        method: 'POST',
        url: '/auth/signup',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'username=x&password=y',
      }),
      415,
      'unsupported_media_type',
    );
    expectProblem(
      await send({ method: 'POST', url: '/auth/signin', headers: { 'content-type': 'application/xml' }, payload: '<a/>' }),
      415,
      'unsupported_media_type',
    );
  });

  it('413 payload_too_large over 64 KiB', async () => {
    const payload = JSON.stringify({ username: 'nora', password: 'x'.repeat(70 * 1024) });
    expectProblem(await send({ method: 'POST', url: '/auth/signin', headers: { 'content-type': 'application/json' }, payload }), 413, 'payload_too_large');
  });

  it('400 invalid_body for malformed JSON and for a non-object body', async () => {
    expectProblem(
      await send({ method: 'POST', url: '/auth/signin', headers: { 'content-type': 'application/json' }, payload: '{"username": "nora",' }),
      400,
      'invalid_body',
    );
    const arr = expectProblem(
      await send({ method: 'POST', url: '/auth/signin', headers: { 'content-type': 'application/json' }, payload: '[1,2]' }),
      400,
      'invalid_body',
    );
    expect(arr.detail).toMatch(/object/);
    const empty = expectProblem(
      await send({ method: 'POST', url: '/auth/signup', headers: { 'content-type': 'application/json' }, payload: '' }),
      400,
      'invalid_body',
    );
    expect(empty.detail).toMatch(/object/);
  });

  it('400 invalid_body naming an unknown field', async () => {
    const b = expectProblem(
      await send({ method: 'POST', url: '/auth/signup', payload: { username: 'olga', password: STRONG_PASSWORD, admin: true } }),
      400,
      'invalid_body',
    );
    expect(b.detail).toContain('"admin"');
    expect(await h.deps.stores.users.findByCanonical('olga')).toBeNull();
  });

  it('400 invalid_body naming a missing field or a field of the wrong type (no coercion)', async () => {
    const missing = expectProblem(await send({ method: 'POST', url: '/auth/signin', payload: { username: 'nora' } }), 400, 'invalid_body');
    expect(missing.detail).toContain('"password"');
    const wrongType = expectProblem(
      await send({ method: 'POST', url: '/auth/signin', payload: { username: 'nora', password: STRONG_PASSWORD, remember: 'false' } }),
      400,
      'invalid_body',
    );
    expect(wrongType.detail).toContain('"remember"');
    expect(wrongType.detail).toMatch(/boolean/);
    const numberName = expectProblem(await send({ method: 'POST', url: '/auth/signup', payload: { username: 12345, password: STRONG_PASSWORD } }), 400, 'invalid_body');
    expect(numberName.detail).toContain('"username"');
  });

  it('__proto__ and constructor.prototype in a body are refused and pollute nothing', async () => {
    const payloads = [
      '{"username":"nora","password":"vivid-otter-sings-42","__proto__":{"polluted":true}}',
      '{"username":"nora","password":"vivid-otter-sings-42","constructor":{"prototype":{"polluted":true}}}',
    ];
    for (const payload of payloads) {
      const res = await send({ method: 'POST', url: '/auth/signin', headers: { 'content-type': 'application/json' }, payload });
      expectProblem(res, 400, 'invalid_body');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('400 invalid_body for a JSON object with a repeated key (no "last one wins")', async () => {
    const res = await send({
      method: 'POST',
      url: '/auth/signin',
      headers: { 'content-type': 'application/json' },
      payload: `{"username":"nora","password":"${STRONG_PASSWORD}","username":"admin"}`,
    });
    expectProblem(res, 400, 'invalid_body');
    expect(res.json().detail).toContain('"username" appears twice');
    const token = await send({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/json' },
      payload: '{"grant_type":"password","grant_type":"refresh_token"}',
    });
    expect(token.statusCode).toBe(400);
    expect(token.body).toContain('appears twice');
  });

  it('404 not_found as problem+json for an unknown route', async () => {
    expectProblem(await send({ method: 'GET', url: '/auth/nope' }), 404, 'not_found');
    expectProblem(await send({ method: 'GET', url: '/' }), 404, 'not_found');
  });

  it('405 with Allow for a known path and another method: GET never changes state', async () => {
    const signin = await send({ method: 'GET', url: '/auth/signin' });
    expectProblem(signin, 405, 'method_not_allowed');
    expect(signin.headers.allow).toBe('POST');
    const s = await signinOk(h.app, { username: 'nora', password: STRONG_PASSWORD });
    const passport = await passportFor(h.deps, s);
    const signout = await send({ method: 'GET', url: '/auth/signout?x=1', headers: { 'x-passport': passport } });
    expectProblem(signout, 405, 'method_not_allowed');
    const del = await send({ method: 'GET', url: `/auth/sessions/${s.sid}`, headers: { 'x-passport': passport } });
    expectProblem(del, 405, 'method_not_allowed');
    expect(del.headers.allow).toBe('DELETE');
    // The session is untouched by the GETs.
    expect((await send({ method: 'GET', url: '/auth/me', headers: { 'x-passport': passport } })).statusCode).toBe(200);
  });

  it('400 for a URL that is not valid percent-encoding, 404 for an over-long session id', async () => {
    expectProblem(await send({ method: 'GET', url: '/auth/sessions/%zz' }), 400, 'invalid_request');
    const s = await signinOk(h.app, { username: 'nora', password: STRONG_PASSWORD });
    const res = await send({
      method: 'DELETE',
      url: `/auth/sessions/${'x'.repeat(300)}`,
      headers: { 'x-passport': await passportFor(h.deps, s) },
    });
    expectProblem(res, 404, 'not_found');
  });

  it('malformed HTTP on a real socket gets a problem+json 400', async () => {
    const url = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(url);
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(port), '127.0.0.1', () => sock.write('GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n'));
      let data = '';
      sock.on('data', (d) => (data += d.toString()));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(raw).toMatch(/Content-Type: application\/problem\+json/);
    expect(raw).toContain('"code":"invalid_request"');
    expect(raw).not.toMatch(INTERNALS_RE);
  });

  it('401 unauthenticated as problem+json with WWW-Authenticate', async () => {
    const res = await send({ method: 'GET', url: '/auth/sessions', headers: { 'x-passport': 'garbage' } });
    expectProblem(res, 401, 'unauthenticated');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
  });

  it('503 unavailable when a store fails, without internals', async () => {
    const users = h.deps.stores.users;
    const original = users.findByCanonical;
    users.findByCanonical = () => Promise.reject(new StoreUnavailableError('users', new Error('SQLITE_BUSY: kysely stack')));
    try {
      const res = await send({ method: 'POST', url: '/auth/signin', payload: { username: 'nora', password: STRONG_PASSWORD } });
      expectProblem(res, 503, 'unavailable');
      expect(res.body).not.toContain('SQLITE_BUSY');
    } finally {
      users.findByCanonical = original;
    }
  });

  it('an unexpected error is a bare 500 internal', async () => {
    const sessions = h.deps.stores.sessions;
    const original = sessions.listByUser;
    sessions.listByUser = () => Promise.reject(new Error('kysely exploded at /src/x.ts:1'));
    try {
      const s = await signinOk(h.app, { username: 'nora', password: STRONG_PASSWORD });
      const res = await send({ method: 'GET', url: '/auth/sessions', headers: { 'x-passport': await passportFor(h.deps, s) } });
      const body = expectProblem(res, 500, 'internal');
      expect(body.detail).toBe('Internal error');
    } finally {
      sessions.listByUser = original;
    }
  });

  it('an empty JSON body is fine where no body is expected', async () => {
    const s = await signinOk(h.app, { username: 'nora', password: STRONG_PASSWORD });
    const res = await send({
      method: 'POST',
      url: '/auth/signout',
      headers: { 'content-type': 'application/json', 'x-passport': await passportFor(h.deps, s) },
      payload: '',
    });
    expect(res.statusCode).toBe(204);
  });
});
