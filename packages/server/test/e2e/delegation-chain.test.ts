import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPassportVerifier,
  exchangePassport,
  nodePassport,
  passportHeaders,
  type PassportClaims,
  type PassportVerifier,
} from '@gatehouse/sdk';
import { runCli, signUpAndIn, startGatehouse, tempDataDir, type Browser, type StartedGatehouse } from './harness.js';

/*
 * Issue 14 §4 through the real `gatehouse start`: service A (a route of the gateway) receives the
 * user's passport, exchanges it for service B and calls B directly with the x-passport header; B
 * sees the user and act.sub = A, exchanges for C, and C sees the nested act. A, B and C are small
 * node:http services using the SDK only (verifier, exchangePassport, passportHeaders).
 */

const dataDir = tempDataDir();
let gh: StartedGatehouse | undefined;
const servers: Server[] = [];
const secrets: Record<string, string> = {};
/** Set once the gateway is up (the services start before it, since its config names A's URL). */
const ctx: { gateway: string; issuer: string; verifiers: Record<string, PassportVerifier> } = { gateway: '', issuer: '', verifiers: {} };
/** The last passport each service received, as it received it. */
const received: Record<string, string> = {};
let urls: Record<string, string> = {};
let web: Browser;

function secretIn(stdout: string): string {
  const m = /^(ghc_[0-9A-Za-z]{49})$/m.exec(stdout);
  if (!m) throw new Error(`no secret in ${stdout}`);
  return m[1]!;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * A service named `name`: verifies its passport; with `next`, exchanges it for `next` (as client
 * `name`) and calls it directly, answering what it saw and what the next one answered.
 */
function service(name: string, next?: string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const claims = await nodePassport(ctx.verifiers[name]!)(req, res);
    if (!claims) return;
    received[name] = req.headers['x-passport'] as string;
    if (next === undefined) return json(res, 200, { [name]: claims });
    try {
      const exchanged = await exchangePassport({
        tokenUrl: `${ctx.gateway}/auth/token`,
        clientId: name,
        clientSecret: secrets[name]!,
        subjectToken: received[name],
        audience: next,
      });
      const answer = await fetch(`${urls[next]}/work`, { headers: passportHeaders(exchanged) });
      json(res, 200, { [name]: claims, expiresIn: exchanged.expiresIn, next: { status: answer.status, body: await answer.json() } });
    } catch (err) {
      json(res, 502, { [name]: claims, error: String(err) });
    }
  };
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<string> {
  const server = createServer((req, res) => void handler(req, res));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  for (const [id, audience] of [['svc-a', 'svc-b'], ['svc-b', 'svc-c']] as const) {
    const add = runCli(['clients', 'add', id, '--name', id.toUpperCase(), '--type', 'confidential', '--grants', 'token-exchange', '--scopes', 'notes:read', '--audiences', audience], { dataDir });
    expect(add.code, add.stderr).toBe(0);
    secrets[id] = secretIn(add.stdout);
  }
  urls = { 'svc-a': await listen(service('svc-a', 'svc-b')), 'svc-b': await listen(service('svc-b', 'svc-c')), 'svc-c': await listen(service('svc-c')) };
  const cfg = join(dataDir, 'gatehouse.json');
  writeFileSync(cfg, JSON.stringify({ routes: [{ path: '/api/svc-a', upstream: urls['svc-a'], service: 'svc-a', auth: 'required' }] }));
  gh = await startGatehouse(dataDir, { GATEHOUSE_CONFIG: cfg });
  ctx.gateway = gh.url;
  ctx.issuer = ((await (await fetch(`${gh.url}/.well-known/openid-configuration`)).json()) as { issuer: string }).issuer;
  for (const name of ['svc-a', 'svc-b', 'svc-c']) {
    ctx.verifiers[name] = createPassportVerifier({ jwksUrl: `${gh.url}/.well-known/jwks.json`, issuer: ctx.issuer, audience: name });
  }
  web = await signUpAndIn(gh.url, 'dora');
}, 60_000);

afterAll(async () => {
  await gh?.stop();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

interface ChainAnswer {
  'svc-a': PassportClaims;
  next: { status: number; body: { 'svc-b': PassportClaims; next: { status: number; body: { 'svc-c': PassportClaims } } } };
}

describe('a passport follows a call: user → gateway → A → B → C', { timeout: 60_000 }, () => {
  it('B sees the user with act.sub = A; C sees act {sub: B, act: {sub: A}}', async () => {
    const res = await web.fetch('/api/svc-a/chain');
    const body = (await res.json()) as ChainAnswer;
    expect(res.status, JSON.stringify(body)).toBe(200);
    const a = body['svc-a'];
    const b = body.next.body['svc-b'];
    const c = body.next.body.next.body['svc-c'];
    expect(body.next.status).toBe(200);
    expect(body.next.body.next.status).toBe(200);

    // A got the gateway's passport: the user, no act.
    expect(a).toMatchObject({ aud: 'svc-a', username: 'dora', auth: 'session' });
    expect(a.act).toBeUndefined();
    // B: the same user and session, on behalf of A.
    expect(b).toMatchObject({ aud: 'svc-b', sub: a.sub, username: 'dora', sid: a.sid, did: a.did, roles: a.roles, auth: 'session', act: { sub: 'svc-a' }, actors: ['svc-a'] });
    // C: the whole chain, nearest first.
    expect(c).toMatchObject({ aud: 'svc-c', sub: a.sub, username: 'dora', sid: a.sid, act: { sub: 'svc-b', act: { sub: 'svc-a' } }, actors: ['svc-b', 'svc-a'] });
    // Never past the subject's exp.
    expect(b.exp).toBeLessThanOrEqual(a.exp);
    expect(c.exp).toBeLessThanOrEqual(b.exp);
  });

  it('an exchanged passport is no credential at the gateway: refused as a bearer, stripped as a header', async () => {
    const forB = received['svc-b']!;
    const asBearer = await fetch(`${gh!.url}/api/svc-a/chain`, { headers: { authorization: `Bearer ${forB}` } });
    expect(asBearer.status).toBe(401);
    const asHeader = await fetch(`${gh!.url}/api/svc-a/chain`, { headers: { 'x-passport': forB } });
    expect(asHeader.status).toBe(401);
  });

  it('A may not ask for C, and B may not exchange a passport minted for A', async () => {
    await web.fetch('/api/svc-a/chain');
    const base = { tokenUrl: `${gh!.url}/auth/token` };
    await expect(exchangePassport({ ...base, clientId: 'svc-a', clientSecret: secrets['svc-a']!, subjectToken: received['svc-a']!, audience: 'svc-c' })).rejects.toMatchObject({ error: 'invalid_target', status: 400 });
    await expect(exchangePassport({ ...base, clientId: 'svc-b', clientSecret: secrets['svc-b']!, subjectToken: received['svc-a']!, audience: 'svc-c' })).rejects.toMatchObject({ error: 'invalid_request', status: 400 });
  });

  it('once the user signs out, the passport A holds is no longer exchanged', async () => {
    expect((await web.fetch('/api/svc-a/chain')).status).toBe(200);
    const held = received['svc-a']!;
    const out = await web.fetch('/auth/signout', { method: 'POST', headers: { 'x-csrf-token': web.csrf! } });
    expect(out.status).toBe(204);
    await expect(
      exchangePassport({ tokenUrl: `${gh!.url}/auth/token`, clientId: 'svc-a', clientSecret: secrets['svc-a']!, subjectToken: held, audience: 'svc-b' }),
    ).rejects.toMatchObject({ error: 'invalid_request', description: expect.stringMatching(/session has ended/) });
  });
});
