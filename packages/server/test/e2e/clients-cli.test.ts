import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyClientSecret } from '../../src/credentials/clients.js';
import { openSqliteStores } from '../../src/stores/sqlite/open-sqlite-stores.js';
import { systemClock } from '../../src/util/clock.js';
import { runCli, tempDataDir } from './harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const HOUR = 60 * 60 * 1000;

function dataDir(): string {
  const d = tempDataDir();
  dirs.push(d);
  return d;
}

/** The secret a `clients add` or `clients rotate-secret` printed (its own line). */
const secretIn = (stdout: string): string => {
  const m = /^(ghc_[0-9A-Za-z]{49})$/m.exec(stdout);
  if (!m) throw new Error(`no secret in ${stdout}`);
  return m[1]!;
};

/** Every byte of the data directory's database (with its WAL). */
function databaseBytes(dir: string): Buffer {
  const file = join(dir, 'gatehouse.db');
  return Buffer.concat([file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

async function verify(dir: string, clientId: string, secret: string, at: number): Promise<boolean> {
  const stores = await openSqliteStores({ file: join(dir, 'gatehouse.db'), clock: systemClock });
  try {
    const client = await stores.clients.get(clientId);
    return client !== null && verifyClientSecret(client, secret, at);
  } finally {
    await stores.close();
  }
}

describe('gatehouse clients (the real CLI)', { timeout: 120_000 }, () => {
  it('adds, lists, rotates (old secret valid for the overlap) and removes clients; a secret is printed once and stored hashed', async () => {
    const dir = dataDir();
    const tv = runCli(['clients', 'add', 'tv-app', '--name', 'Living-room TV', '--type', 'public', '--grants', 'device_code,refresh_token', '--scopes', 'notes:read'], { dataDir: dir });
    expect(tv).toMatchObject({ code: 0, stderr: '' });
    expect(tv.stdout).toContain('Created public client tv-app ("Living-room TV") with grants device_code, refresh_token.');
    expect(tv.stdout).not.toMatch(/ghc_/);

    const add = runCli(['clients', 'add', 'billing', '--name', 'Billing', '--type', 'confidential', '--grants', 'client_credentials, token-exchange', '--scopes', 'notes:read,notes:write', '--audiences', 'notes'], {
      dataDir: dir,
      env: { GATEHOUSE_LOG_LEVEL: 'trace' }, // a secret never goes to a log, whatever the level
    });
    expect(add).toMatchObject({ code: 0, stderr: '' });
    const first = secretIn(add.stdout);
    expect(add.stdout).toContain('shown only now');
    expect(add.stdout).toContain('The service\'s passports are for "billing".');
    expect(databaseBytes(dir).includes(Buffer.from(first.slice(4)))).toBe(false);
    expect(await verify(dir, 'billing', first, Date.now())).toBe(true);

    const list = runCli(['clients', 'list'], { dataDir: dir }).stdout.split('\n');
    expect(list[0]).toMatch(/^CLIENT ID\s+TYPE\s+NAME\s+GRANTS\s+SCOPES\s+AUDIENCES\s+SERVICE\s+SECRETS\s+LAST USED$/);
    expect(list[1]).toMatch(/^billing\s+confidential\s+Billing\s+client_credentials,token-exchange\s+notes:read,notes:write\s+notes\s+billing\s+1\s+-$/);
    expect(list[2]).toMatch(/^tv-app\s+public\s+Living-room TV\s+device_code,refresh_token\s+notes:read\s+-\s+-\s+-\s+-$/);
    expect(list[2]!.indexOf('public')).toBe(list[0]!.indexOf('TYPE'));

    const before = Date.now();
    const rotated = runCli(['clients', 'rotate-secret', 'billing', '--overlap', '1h'], { dataDir: dir });
    expect(rotated).toMatchObject({ code: 0, stderr: '' });
    const second = secretIn(rotated.stdout);
    expect(second).not.toBe(first);
    expect(rotated.stdout).toMatch(/The previous secret keeps working until \d{4}-\d\d-\d\dT/);
    // Both work during the overlap; only the new one after it.
    expect(await verify(dir, 'billing', first, Date.now())).toBe(true);
    expect(await verify(dir, 'billing', second, Date.now())).toBe(true);
    expect(await verify(dir, 'billing', first, Date.now() + HOUR + 60_000)).toBe(false);
    expect(await verify(dir, 'billing', second, Date.now() + HOUR + 60_000)).toBe(true);
    for (const s of [first, second]) expect(databaseBytes(dir).includes(Buffer.from(s.slice(4)))).toBe(false);

    const json = runCli(['clients', 'list', '--json'], { dataDir: dir });
    expect(json.code).toBe(0);
    const clients = JSON.parse(json.stdout) as Array<Record<string, unknown> & { secrets: Array<Record<string, unknown>> }>;
    expect(clients.map((c) => c.clientId)).toEqual(['billing', 'tv-app']);
    expect(clients[0]).toMatchObject({ type: 'confidential', service: 'billing', audiences: ['notes'], grants: ['client_credentials', 'token-exchange'] });
    expect(clients[0]!.secrets).toHaveLength(2);
    const notAfter = clients[0]!.secrets[0]!.notAfter as number;
    expect(notAfter).toBeGreaterThanOrEqual(before + HOUR);
    expect(notAfter).toBeLessThanOrEqual(Date.now() + HOUR);
    // The list shows no secret and no hash.
    expect(Object.keys(clients[0]!.secrets[0]!).sort()).toEqual(['createdAt', 'notAfter']);
    expect(json.stdout).not.toMatch(/hash|ghc_/);

    const pub = runCli(['clients', 'rotate-secret', 'tv-app'], { dataDir: dir });
    expect(pub).toMatchObject({ code: 1, stdout: '', stderr: 'gatehouse: "tv-app" is a public client: it has no secret to rotate.\n' });

    expect(runCli(['clients', 'remove', 'tv-app'], { dataDir: dir })).toMatchObject({
      code: 0,
      stdout: 'Removed client tv-app. It can no longer get tokens.\nRunning gateways refuse its tokens within revocations.pollIntervalMs (1000 ms); restarted ones at once.\n',
    });
    expect(runCli(['clients', 'remove', 'tv-app'], { dataDir: dir })).toMatchObject({ code: 1, stderr: 'gatehouse: No client "tv-app". "gatehouse clients list" lists them.\n' });
    expect(runCli(['clients', 'remove', 'gatehouse'], { dataDir: dir })).toMatchObject({ code: 1, stderr: expect.stringContaining('"gatehouse" is the built-in first-party client; it cannot be created or removed') });
    expect(runCli(['clients', 'list'], { dataDir: dir }).stdout.split('\n').filter((l) => l !== '')).toHaveLength(2);
  });

  it('rotate-secret without --overlap keeps the old secret for clients.secretOverlapSec', async () => {
    const dir = dataDir();
    const cfg = join(dir, 'gatehouse.json');
    writeFileSync(cfg, JSON.stringify({ clients: { secretOverlapSec: 600 } }));
    const env = { GATEHOUSE_CONFIG: cfg };
    const first = secretIn(runCli(['clients', 'add', 'svc', '--name', 'Svc', '--type', 'confidential', '--grants', 'client_credentials', '--scopes', 'notes:read'], { dataDir: dir, env }).stdout);
    const before = Date.now();
    expect(runCli(['clients', 'rotate-secret', 'svc'], { dataDir: dir, env }).code).toBe(0);
    const [previous] = (JSON.parse(runCli(['clients', 'list', '--json'], { dataDir: dir, env }).stdout) as Array<{ secrets: Array<{ notAfter: number }> }>)[0]!.secrets;
    expect(previous!.notAfter).toBeGreaterThanOrEqual(before + 600_000);
    expect(previous!.notAfter).toBeLessThanOrEqual(Date.now() + 600_000);
    expect(await verify(dir, 'svc', first, Date.now())).toBe(true);
    // --overlap 0: the old secret stops at once.
    const zero = runCli(['clients', 'rotate-secret', 'svc', '--overlap', '0'], { dataDir: dir, env });
    expect(zero.stdout).toContain('The previous secret no longer works.');
    const third = secretIn(zero.stdout);
    expect(await verify(dir, 'svc', third, Date.now())).toBe(true);
    expect((JSON.parse(runCli(['clients', 'list', '--json'], { dataDir: dir, env }).stdout) as Array<{ secrets: unknown[] }>)[0]!.secrets).toHaveLength(1);
  });

  it('update changes name, grants, scopes, audiences and service, checked like add; the type and the secret stay', async () => {
    const dir = dataDir();
    const secret = secretIn(runCli(['clients', 'add', 'orders', '--name', 'Orders', '--type', 'confidential', '--grants', 'client_credentials', '--scopes', 'notes:read'], { dataDir: dir }).stdout);
    const listed = (): Record<string, unknown> => (JSON.parse(runCli(['clients', 'list', '--json'], { dataDir: dir }).stdout) as Array<Record<string, unknown>>)[0]!;
    const was = listed();
    expect(was).toMatchObject({ service: 'orders', audiences: [] });

    const up = runCli(['clients', 'update', 'orders', '--name', 'Orders v2', '--grants', 'client_credentials,token-exchange', '--audiences', 'billing, notes', '--service', 'shop'], { dataDir: dir });
    expect(up).toMatchObject({ code: 0, stderr: '' });
    expect(up.stdout).toBe('Updated confidential client orders ("Orders v2"): grants client_credentials, token-exchange; scopes notes:read; audiences billing, notes; its passports are for "shop". Its secret is unchanged.\n');
    expect(up.stdout).not.toMatch(/ghc_/);
    const now = listed();
    expect(now).toMatchObject({ clientId: 'orders', type: 'confidential', name: 'Orders v2', grants: ['client_credentials', 'token-exchange'], scopes: ['notes:read'], audiences: ['billing', 'notes'], service: 'shop' });
    expect(now.secrets).toEqual(was.secrets);
    expect(now.createdAt).toBe(was.createdAt);
    expect(now.updatedAt as number).toBeGreaterThanOrEqual(was.updatedAt as number);
    expect(await verify(dir, 'orders', secret, Date.now())).toBe(true);

    // One field at a time leaves the others as they are.
    expect(runCli(['clients', 'update', 'orders', '--scopes', 'notes:read,notes:write'], { dataDir: dir }).code).toBe(0);
    expect(listed()).toMatchObject({ name: 'Orders v2', scopes: ['notes:read', 'notes:write'], audiences: ['billing', 'notes'], service: 'shop' });

    const update = (...args: string[]) => runCli(['clients', 'update', ...args], { dataDir: dir });
    const cases: Array<[ReturnType<typeof runCli>, number, string | RegExp]> = [
      [update('orders', '--grants', 'client_credentials'), 1, /Audiences are the services a client may call on a user's behalf \(token exchange\): add the token-exchange grant, or leave --audiences out/],
      [update('orders', '--audiences', ''), 1, /token-exchange grant needs --audiences/],
      [update('orders', '--service', 'auth'), 1, /cannot be "auth", the auth service's own name/],
      [update('orders', '--service', 'no/slash'), 1, /is not a service name/],
      [update('orders', '--scopes', 'orders:read'), 1, /Not a scope tokens may carry: "orders:read"/],
      [update('orders', '--type', 'public'), 2, /^gatehouse: --type does not apply to "clients update"\. Usage:/],
      [update('orders'), 1, 'gatehouse: Nothing to change: name at least one of --name, --grants, --scopes, --audiences, --service.\n'],
      [update('nobody', '--name', 'X'), 1, 'gatehouse: No client "nobody". "gatehouse clients list" lists them.\n'],
      [update('gatehouse', '--name', 'X'), 1, /"gatehouse" is the built-in first-party client/],
      [runCli(['clients', 'updte', 'orders'], { dataDir: dir }), 2, /unknown clients command "updte" \(did you mean "update"\?\)/],
    ];
    for (const [r, code, stderr] of cases) {
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
      if (typeof stderr === 'string') expect(r.stderr).toBe(stderr);
      else expect(r.stderr).toMatch(stderr);
    }
    // None of the refused updates changed anything.
    expect(listed()).toMatchObject({ name: 'Orders v2', grants: ['client_credentials', 'token-exchange'], scopes: ['notes:read', 'notes:write'], audiences: ['billing', 'notes'], service: 'shop' });

    // A public client has no service to set.
    runCli(['clients', 'add', 'tv', '--name', 'TV', '--type', 'public', '--grants', 'device_code', '--scopes', 'notes:read'], { dataDir: dir });
    expect(update('tv', '--service', 'tv')).toMatchObject({ code: 1, stderr: expect.stringMatching(/--service applies to confidential clients only/) });
    expect(update('tv', '--name', 'Kitchen TV').stdout).toBe('Updated public client tv ("Kitchen TV"): grants device_code; scopes notes:read; audiences -.\n');
  });

  it('refuses bad input with a message that says what to do, and changes nothing', () => {
    const dir = dataDir();
    const add = (...args: string[]) => runCli(['clients', 'add', ...args], { dataDir: dir });
    const base = ['--name', 'X', '--scopes', 'notes:read'];
    const cases: Array<[ReturnType<typeof runCli>, number, string | RegExp]> = [
      [add('x', ...base, '--type', 'public', '--grants', 'device_cod'), 1, 'gatehouse: Unknown grant "device_cod" (did you mean "device_code"?); the grants are device_code, refresh_token, client_credentials, token-exchange.\n'],
      [add('x', ...base, '--type', 'public', '--grants', 'client_credentials'), 1, /A public client has no secret, so it cannot use client_credentials: register the service as --type confidential/],
      [add('x', ...base, '--type', 'public', '--grants', 'device_code,token-exchange', '--audiences', 'notes'), 1, /cannot use token-exchange/],
      [add('x', ...base, '--type', 'service', '--grants', 'device_code'), 1, /must be "public" \(a TV or CLI app, no secret\) or "confidential"/],
      [add('gatehouse', ...base, '--type', 'public', '--grants', 'device_code'), 1, /"gatehouse" is the built-in first-party client; it cannot be created or removed/],
      [add('My App', ...base, '--type', 'public', '--grants', 'device_code'), 1, /is not a client id: use 1 to 64 lowercase letters/],
      [add('x', '--name', 'X', '--scopes', 'orders:read', '--type', 'public', '--grants', 'device_code'), 1, /Not a scope tokens may carry: "orders:read"\. Use scopes listed in the config key tokens\.defaultScopes/],
      [add('x', ...base, '--type', 'confidential', '--grants', 'token-exchange'), 1, /token-exchange grant needs --audiences/],
      [add('x', ...base, '--type', 'public', '--grants', 'device_code', '--service', 'x'), 1, /--service applies to confidential clients only/],
      [add('x', '--name', 'X', '--type', 'public', '--grants', 'device_code'), 2, /^gatehouse: "clients add" needs --scopes\. Usage: gatehouse clients add <id>/],
      [runCli(['clients', 'list', '--overlap', '1h'], { dataDir: dir }), 2, /^gatehouse: --overlap does not apply to "clients list"\. Usage:/],
      [runCli(['clients', 'rotate-secret', 'x', '--overlap', '1y'], { dataDir: dir }), 2, /^gatehouse: --overlap must be a duration from 0 to 30d, like 90s, 30m, 24h or 7d/],
      [runCli(['clients', 'rmove', 'x'], { dataDir: dir }), 2, /^gatehouse: unknown clients command "rmove" \(did you mean "remove"\?\)\. Usage: gatehouse clients add/],
      [runCli(['users', 'list', '--json'], { dataDir: dir }), 2, 'gatehouse: --json applies to "gatehouse clients" only. Run "gatehouse --help" for usage.\n'],
    ];
    for (const [r, code, stderr] of cases) {
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
      if (typeof stderr === 'string') expect(r.stderr).toBe(stderr);
      else expect(r.stderr).toMatch(stderr);
    }
    expect(runCli(['clients', 'list'], { dataDir: dir }).stdout).toBe('No OAuth clients yet. Register one with "gatehouse clients add <id> ...".\n');
  });
});
