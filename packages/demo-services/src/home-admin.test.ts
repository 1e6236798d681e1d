import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminService, startHomeService } from './index.js';
import type { RunningService } from './index.js';
import { ISSUER, algNone, call, makeSigner, problemOf } from './demo.test-helpers.js';
import type { Signer } from './demo.test-helpers.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let signer: Signer;
let home: RunningService;
let admin: RunningService;
let jwksServer: ReturnType<typeof createServer>;

beforeAll(async () => {
  signer = await makeSigner();
  home = await startHomeService({ verifier: { jwks: signer.jwks, issuer: ISSUER }, logger: false });
  // The admin service gets its keys over HTTP, as a separate process would.
  jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(signer.jwks())));
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  admin = await startAdminService({ verifier: { jwksUrl, issuer: ISSUER }, logger: false });
});
afterAll(async () => {
  await home.close();
  await admin.close();
  await new Promise((r) => jwksServer.close(r));
});

describe('home service', () => {
  it('greets the passport user', async () => {
    const passport = await signer.sign({ aud: 'home', sub: 'u-7', username: 'zoë', roles: ['user', 'editor'] });
    const res = await call(`${home.url}/api/home`, { passport });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ greeting: 'Hello, zoë!', user: { id: 'u-7', username: 'zoë', roles: ['user', 'editor'] } });
  });

  it('whoami returns the verified claims', async () => {
    const passport = await signer.sign({ aud: 'home', sub: 'u-7', claims: { scope: 'notes:read', unknown_claim: 'dropped' } });
    const res = await call(`${home.url}/api/home/whoami`, { passport });
    expect(res.status).toBe(200);
    const payload = JSON.parse(Buffer.from(passport.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    const { unknown_claim: _dropped, ...expected } = payload;
    expect(res.body).toEqual(expected);
  });

  it('refuses alg none, forged and wrong-audience passports', async () => {
    const good = await signer.sign({ aud: 'home' });
    for (const passport of [algNone(good), await (await makeSigner()).sign({ aud: 'home' }), await signer.sign({ aud: 'notes' })]) {
      for (const path of ['/api/home', '/api/home/whoami']) {
        const res = await call(`${home.url}${path}`, { passport });
        expect(problemOf(res)).toMatchObject({ status: 401, code: 'invalid_passport' });
      }
    }
  });
});

describe('admin service', () => {
  it('lets an admin in', async () => {
    const passport = await signer.sign({ aud: 'admin', username: 'root', roles: ['user', 'admin'] });
    const res = await call(`${admin.url}/api/admin`, { passport });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, admin: 'root' });
  });

  it('refuses a valid passport without the admin role: 403 forbidden', async () => {
    for (const roles of [['user'], [], ['Admin'], ['administrator'], ['admin ']]) {
      const passport = await signer.sign({ aud: 'admin', roles });
      const res = await call(`${admin.url}/api/admin`, { passport });
      expect(problemOf(res)).toMatchObject({ status: 403, code: 'forbidden' });
    }
  });

  it('refuses forged admin passports: 401', async () => {
    const real = await signer.sign({ aud: 'admin', roles: ['admin'] });
    const forged = [
      algNone(real),
      await (await makeSigner('test-key')).sign({ aud: 'admin', roles: ['admin'] }),
      await signer.sign({ aud: 'home', roles: ['admin'] }),
      await signer.sign({ aud: 'admin', roles: 'admin' as unknown as string[] }),
    ];
    for (const passport of forged) {
      const res = await call(`${admin.url}/api/admin`, { passport });
      expect(problemOf(res)).toMatchObject({ status: 401, code: 'invalid_passport' });
    }
    expect(problemOf(await call(`${admin.url}/api/admin`))).toMatchObject({ status: 401, code: 'missing_passport' });
  });
});
