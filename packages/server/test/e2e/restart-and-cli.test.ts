import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/help.js';
import { runCli, signUpAndIn, startGatehouse, tempDataDir } from './harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('gatehouse CLI and restarts', () => {
  it('keeps sessions across a restart, and shuts down cleanly on SIGTERM', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const first = await startGatehouse(dataDir);
    const erin = await signUpAndIn(first.url, 'erin-e2e');
    expect((await erin.fetch('/api/home')).status).toBe(200);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.stdout()).toContain('Gatehouse stopped.');
    // The master key was generated once, readable by its owner only.
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);

    const second = await startGatehouse(dataDir);
    try {
      const res = await fetch(`${second.url}/api/home`, { headers: { cookie: erin.jar.header() } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ user: { username: 'erin-e2e' } });
    } finally {
      await second.stop();
    }
  });

  it('prints help and refuses bad config naming the key', () => {
    const help = runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('gatehouse start');
    expect(help.stdout).toContain('GATEHOUSE_CONFIG');
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const cfg = join(dataDir, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ routes: [{ path: '/api/x', upstream: 'http://127.0.0.1:1', service: 'x', auth: 'sometimes' }] }));
    const bad = runCli(['start'], { dataDir, env: { GATEHOUSE_CONFIG: cfg, GATEHOUSE_PORT: '0' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('routes[0].auth');
    const unknown = runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('gatehouse --help');
  });

  it('answers a mistyped flag or command in one line, naming the nearest one and --help (exit 2)', { timeout: 90_000 }, () => {
    const cases: Array<[string[], string]> = [
      [['start', '--prot', '8080'], 'gatehouse: unknown option --prot (did you mean --port?). Run "gatehouse --help" for usage.\n'],
      [['--data-dr', '/tmp/x', 'users', 'list'], 'gatehouse: unknown option --data-dr (did you mean --data-dir?). Run "gatehouse --help" for usage.\n'],
      [['start', '--verbose'], 'gatehouse: unknown option --verbose. Run "gatehouse --help" for usage.\n'],
      [['start', '--port'], 'gatehouse: Option \'--port <value>\' argument missing. Run "gatehouse --help" for usage.\n'],
      [['strat'], 'gatehouse: unknown command "strat" (did you mean "start"?). Run "gatehouse --help" for usage.\n'],
      [['frobnicate'], 'gatehouse: unknown command "frobnicate". Run "gatehouse --help" for usage.\n'],
      [['users', 'list', '--force'], 'gatehouse: --force applies to "gatehouse backup" only. Run "gatehouse --help" for usage.\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = runCli(args);
      expect({ args, code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ args, code: 2, stderr, stdout: '' });
    }
    expect(runCli(['users', 'lsit']).stderr).toMatch(/^gatehouse: unknown users command "lsit" \(did you mean "list"\?\)\. Usage: gatehouse users add/);
    expect(runCli(['keys', 'rotaet']).stderr).toMatch(/^gatehouse: unknown keys command "rotaet" \(did you mean "rotate"\?\)\. Usage: gatehouse keys list/);
  });

  it('lists every command in --help', () => {
    const help = runCli(['--help']).stdout;
    for (const command of COMMANDS.filter((c) => c !== 'help')) expect(help).toMatch(new RegExp(`^  gatehouse ${command} `, 'm'));
    expect(help).toContain('gatehouse backup <file> [--force]');
    expect(help).toContain('gatehouse restore <file>');
  });

  it('refuses a weak password for users add, and grants roles', () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const weak = runCli(['users', 'add', 'frank'], { dataDir, input: 'password\n' });
    // What the CLI said, should it ever end otherwise (it exited 0 once in a loaded CI run).
    expect(weak.code, `stdout: ${weak.stdout}\nstderr: ${weak.stderr}`).toBe(1);
    expect(weak.stderr).toContain('weak_password');
    const ok = runCli(['users', 'add', 'frank'], { dataDir, input: 'a much better passphrase\n' });
    expect(ok.code).toBe(0);
    const grant = runCli(['users', 'grant', 'frank', 'admin'], { dataDir });
    expect(grant.code).toBe(0);
    const list = runCli(['users', 'list'], { dataDir }).stdout.split('\n');
    expect(list[0]).toMatch(/^ID\s+USERNAME\s+ROLES\s+CREATED\s+STATUS$/);
    expect(list[1]).toMatch(/^\S+\s+frank\s+admin\s+\d{4}-\S+\s+active$/);
    // The columns line up under the header.
    expect(list[1]!.indexOf('frank')).toBe(list[0]!.indexOf('USERNAME'));
    const missing = runCli(['users', 'grant', 'nobody', 'admin'], { dataDir });
    expect(missing.code).toBe(1);
  });

  it('lists and rotates signing keys: the next key is published before it signs', () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const before = runCli(['keys', 'list'], { dataDir });
    expect(before.code).toBe(0);
    expect(before.stdout.trim().split('\n')).toHaveLength(1);
    expect(before.stdout).toContain('active');
    const rotated = runCli(['keys', 'rotate'], { dataDir });
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/Rotated\. The new key is published now and signs from/);
    const lines = runCli(['keys', 'list'], { dataDir }).stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.filter((l) => l.includes('next (published, not signing yet)'))).toHaveLength(1);
    // The old key still signs until the new one activates, then stays published for its tokens.
    expect(lines.filter((l) => / active /.test(l))).toHaveLength(1);
    expect(lines.find((l) => / active /.test(l))).toMatch(/unpublished after/);
    expect(runCli(['keys', 'spin'], { dataDir }).code).toBe(2);
  });

  it('routes a configured upstream in front of the demo ones', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const { createServer } = await import('node:http');
    const upstream = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, passport: typeof req.headers['x-passport'] }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const port = (upstream.address() as { port: number }).port;
    const cfg = join(dataDir, 'gatehouse.json');
    writeFileSync(cfg, JSON.stringify({ demo: false, routes: [{ path: '/api/orders', upstream: `http://127.0.0.1:${port}`, service: 'orders', auth: 'required' }] }));
    const gh = await startGatehouse(dataDir, { GATEHOUSE_CONFIG: cfg });
    try {
      const u = await signUpAndIn(gh.url, 'grace-e2e');
      const res = await u.fetch('/api/orders/7?x=1');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ path: '/api/orders/7?x=1', passport: 'string' });
      expect((await u.fetch('/api/notes')).status).toBe(404);
    } finally {
      await gh.stop();
      upstream.close();
    }
  });
});
