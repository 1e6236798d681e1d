/**
 * Issue 12: a 403 from a role- or scope-gated route tells the operator (an info log line with
 * the route, the user id and what is missing) and the caller (the problem detail names the role
 * or scope, and `required_role`/`required_scope` carry it for code).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueAccessToken, issueClientAccessToken } from '../credentials/access-token.js';
import { addClient } from '../credentials/clients.js';
import { grantableScopes } from '../credentials/scope.js';
import { createLogger } from '../util/logger.js';
import { createGatewayHarness, send, type GatewayHarness } from './test-helpers.js';
import { jsonLineSink } from '../util/log-capture.test-helpers.js';

const lines: Array<Record<string, unknown>> = [];
const sink = jsonLineSink(lines);

let h: GatewayHarness;
beforeAll(async () => {
  h = await createGatewayHarness({
    routes: (upstream) => [
      { path: '/api/orders', upstream, service: 'orders', auth: 'required', roles: ['staff'] },
      { path: '/api/notes', upstream, service: 'notes', auth: 'required', scopes: { GET: ['notes:read'], '*': ['notes:write'] } },
    ],
    deps: (d) => void (d.logger = createLogger('info', sink)),
  });
});
afterAll(async () => {
  await h.close();
});

describe('a refused role or scope', () => {
  it('a missing role: the detail says "requires role staff", the log names route, user and role', async () => {
    const alice = await h.signIn(await h.createUser('alice'));
    const r = await send(h.url, '/api/orders', { headers: [['Cookie', alice.cookie]] });
    expect(r.status).toBe(403);
    const problem = JSON.parse(r.body) as Record<string, unknown>;
    expect(problem).toMatchObject({ code: 'forbidden', required_role: 'staff' });
    expect(problem.detail).toContain('requires role staff');
    expect(lines.find((l) => l.msg === 'request refused: missing role')).toMatchObject({ level: 'info', code: 'forbidden', route: '/api/orders', user_id: alice.user.id, missing_role: 'staff' });
    const staff = await h.signIn(await h.createUser('sam', ['staff']));
    expect((await send(h.url, '/api/orders', { headers: [['Cookie', staff.cookie]] })).status).toBe(200);
  });

  it('a missing scope: the detail says "requires scope notes:write", the log names route, user and scope', async () => {
    const user = await h.createUser('bob');
    const session = await h.signIn(user);
    const t = await issueAccessToken(h.deps, { user, session: session.session, scope: 'notes:read' });
    const auth: [string, string] = ['Authorization', `Bearer ${t.token}`];
    expect((await send(h.url, '/api/notes', { headers: [auth] })).status).toBe(200);
    const r = await send(h.url, '/api/notes', { method: 'POST', headers: [auth, ['Content-Type', 'application/json']], body: '{}' });
    expect(r.status).toBe(403);
    const problem = JSON.parse(r.body) as Record<string, unknown>;
    expect(problem).toMatchObject({ code: 'forbidden', required_scope: 'notes:write' });
    expect(problem.detail).toContain('requires scope notes:write');
    expect(lines.find((l) => l.msg === 'request refused: missing scope')).toMatchObject({ level: 'info', route: '/api/notes', user_id: user.id, missing_scope: 'notes:write' });
    // No secret in the line: never the token.
    expect(JSON.stringify(lines)).not.toContain(t.token);
  });

  it('a service client the route does not name: the detail says how to let it in, the log names route and client, never the token', async () => {
    await addClient(h.deps.stores.clients, { clientId: 'billing', name: 'Billing', type: 'confidential', grants: ['client_credentials'], scopes: ['notes:read'], audiences: [] }, grantableScopes(h.deps.config), h.clock.now());
    const t = await issueClientAccessToken(h.deps, { clientId: 'billing', scope: 'notes:read' });
    const r = await send(h.url, '/api/orders', { headers: [['Authorization', `Bearer ${t.token}`]] });
    expect(r.status).toBe(403);
    const problem = JSON.parse(r.body) as Record<string, unknown>;
    expect(problem).toMatchObject({ code: 'forbidden', client_id: 'billing' });
    expect(problem.detail).toContain('add "billing" to the route\'s "clients" list');
    expect(lines.find((l) => l.msg === 'request refused: client not named by the route')).toMatchObject({ level: 'info', code: 'forbidden', route: '/api/orders', client_id: 'billing' });
    expect(JSON.stringify(lines)).not.toContain(t.token);
  });
});
