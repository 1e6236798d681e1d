// The packages as another repository gets them: `npm pack` every workspace package, install the
// tarballs into a fresh project outside this workspace (offline, from the npm cache `npm ci`
// filled), type-check a small TypeScript service there under --strict, run it behind the
// installed `gatehouse start`, and run the installed `gatehouse --help`.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, jsonLines, REPO_ROOT, startService, tsc, TYPE_ROOTS, waitFor } from './consumer.js';
import type { RunningService } from './consumer.js';
import { signUpAndIn, startGatehouse, type StartedGatehouse } from './harness.js';

const WORKSPACES = ['@gatehouse/sdk', '@gatehouse/web', '@gatehouse/demo-services', '@gatehouse/server'];

interface Packed {
  name: string;
  version: string;
  filename: string;
  integrity: string;
  files: { path: string }[];
}

interface LockEntry {
  name?: string;
  version?: string;
  dev?: boolean;
  link?: boolean;
  devDependencies?: Record<string, string>;
  [key: string]: unknown;
}

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * The consumer project's lockfile: the tarballs for the Gatehouse packages, and every other
 * package at the version this checkout's lockfile pins (its non-dev entries, the closure of the
 * packages' dependencies). With it `npm ci --offline` needs nothing but the tarballs already in the
 * npm cache (a range would need the registry's package documents, which `npm ci` never caches).
 */
function consumerLock(name: string, deps: Record<string, string>, packed: Packed[]): object {
  const repoLock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, unknown> = { '': { name, dependencies: deps } };
  for (const p of packed) {
    const ws = Object.entries(repoLock.packages).find(([path, e]) => path.startsWith('packages/') && e.name === p.name)?.[1];
    if (!ws) throw new Error(`${p.name} is not a workspace of package-lock.json`);
    const { name: _name, devDependencies: _dev, ...entry } = ws;
    packages[`node_modules/${p.name}`] = { ...entry, version: p.version, resolved: deps[p.name], integrity: p.integrity };
  }
  for (const [path, entry] of Object.entries(repoLock.packages)) {
    if (path.startsWith('node_modules/') && !entry.link && !entry.dev) packages[path] = entry;
  }
  return { name, lockfileVersion: 3, requires: true, packages };
}

/** The service another repository would write: the SDK, its Fastify entry point, strict types, no casts. */
const SERVICE_TS = `import Fastify from 'fastify';
import { createPassportVerifier, hasRole } from '@gatehouse/sdk';
import type { PassportError } from '@gatehouse/sdk';
import { fastifyPassport } from '@gatehouse/sdk/fastify';

const gateway = process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:8080';
const verifier = createPassportVerifier({
  jwksUrl: \`\${gateway}/.well-known/jwks.json\`,
  issuer: gateway,
  audience: 'orders',
});

const app = Fastify();
app.decorateRequest('passport', null);
app.addHook(
  'onRequest',
  fastifyPassport(verifier, {
    onError: (err: PassportError, request) => console.log(JSON.stringify({ refused: err.code, status: err.status, path: request.url })),
  }),
);
app.get('/api/orders', async (request) => {
  const passport = request.passport!;
  return { user: passport.username, sub: passport.sub, staff: hasRole(passport, 'staff') };
});
const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
console.log(JSON.stringify({ listening: url }));
`;

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    target: 'ES2022',
    module: 'node16',
    moduleResolution: 'node16',
    outDir: 'dist',
    types: ['node'],
    typeRoots: [TYPE_ROOTS],
    // The SDK's .d.ts are tsc's own output from checked sources; checking every library's
    // declarations again would triple the time of this test.
    skipLibCheck: true,
    noEmitOnError: true,
  },
  include: ['service.ts'],
};

let work: string;
let project: string;
let packed: Packed[];
let gatehouse: StartedGatehouse | undefined;
let service: RunningService | undefined;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'gatehouse-pack-'));
  project = join(work, 'another-repo');
  mkdirSync(join(project, 'packs'), { recursive: true });
  // --ignore-scripts: npm test has built dist already (each package's prepack would run `tsc -b` again).
  const out = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', join(project, 'packs'), ...WORKSPACES.flatMap((w) => ['-w', w])], REPO_ROOT);
  packed = JSON.parse(out.slice(out.indexOf('['))) as Packed[];
  const deps: Record<string, string> = Object.fromEntries(packed.map((p) => [p.name, `file:packs/${p.filename}`]));
  // The consumer's own dependency: Fastify, at the version this checkout uses.
  deps.fastify = `^${(JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/fastify/package.json'), 'utf8')) as { version: string }).version}`;
  const pkg = { name: 'another-repo', private: true, type: 'module', dependencies: deps };
  writeFileSync(join(project, 'package.json'), JSON.stringify(pkg, null, 2));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(consumerLock(pkg.name, deps, packed), null, 2));
  // Offline: only the npm cache. --ignore-scripts: better-sqlite3's install script would download a
  // prebuilt binary (no network here) or compile SQLite for minutes; the binary this checkout built
  // for the same Node stands in for the download below.
  run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], project);
  const release = join(project, 'node_modules/better-sqlite3/build/Release');
  mkdirSync(release, { recursive: true });
  copyFileSync(join(REPO_ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), join(release, 'better_sqlite3.node'));
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await gatehouse?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packages, installed from their tarballs into another project', () => {
  it('are publishable: scoped names, license, engines, README, exports; no sources, tests or maps', () => {
    expect(packed.map((p) => p.name).sort()).toEqual([...WORKSPACES].sort());
    for (const p of packed) {
      const installed = JSON.parse(readFileSync(join(project, 'node_modules', p.name, 'package.json'), 'utf8')) as Record<string, unknown>;
      expect(installed, p.name).toMatchObject({ license: 'MIT', engines: { node: expect.any(String) }, exports: expect.any(Object), files: expect.any(Array) });
      expect(installed.private, p.name).toBeUndefined();
      const paths = p.files.map((f) => f.path);
      expect(paths, p.name).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
      expect(paths.filter((f) => /(^|\/)src\/|\.test|test-helpers|\.map$|tsbuildinfo/.test(f)), p.name).toEqual([]);
    }
    // The unscoped name `gatehouse` is someone else's: the server is @gatehouse/server, its command `gatehouse`.
    const server = JSON.parse(readFileSync(join(project, 'node_modules/@gatehouse/server/package.json'), 'utf8')) as Record<string, unknown>;
    expect(server.bin).toEqual({ gatehouse: './bin/gatehouse.js' });
    // The SDK depends on jose alone; Fastify and Express are optional peers, never imported at run time.
    const sdk = JSON.parse(readFileSync(join(project, 'node_modules/@gatehouse/sdk/package.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(sdk.dependencies as object)).toEqual(['jose']);
    expect(sdk.peerDependenciesMeta).toEqual({ express: { optional: true }, fastify: { optional: true } });
    const dist = join(project, 'node_modules/@gatehouse/sdk/dist');
    const js = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    expect(js).toEqual(expect.arrayContaining(['index.js', 'fastify.js', 'express.js']));
    for (const f of js) expect(readFileSync(join(dist, f), 'utf8'), f).not.toMatch(/from ['"](fastify|express)['"]|require\(['"](fastify|express)/);
  });

  it('type-check a service written against them under --strict (node16 resolution), with request.passport typed', { timeout: 60_000 }, () => {
    writeFileSync(join(project, 'service.ts'), SERVICE_TS);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    const r = tsc(project);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(join(project, 'dist/service.js'))).toBe(true);
  });

  it('run the installed `gatehouse --help`', () => {
    const r = spawnSync(join(project, 'node_modules/.bin/gatehouse'), ['--help'], { cwd: project, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('gatehouse start');
    expect(r.stdout).not.toMatch(/npx gatehouse/);
  });

  it('run that service behind the installed `gatehouse start`: a signed-in user reaches it, a bypass is refused with its cause', { timeout: 60_000 }, async () => {
    expect(existsSync(join(project, 'dist/service.js'))).toBe(true);
    const port = await freePort();
    const gatewayUrl = `http://127.0.0.1:${port}`;
    service = await startService(join(project, 'dist/service.js'), { GATEHOUSE_URL: gatewayUrl }, project);
    const dataDir = join(work, 'data');
    const config = join(work, 'gatehouse.json');
    writeFileSync(config, JSON.stringify({ routes: [{ path: '/api/orders', upstream: service.url, service: 'orders', auth: 'required' }] }));
    gatehouse = await startGatehouse(dataDir, { GATEHOUSE_PORT: String(port), GATEHOUSE_CONFIG: config }, join(project, 'node_modules/.bin/gatehouse'));
    expect(gatehouse.url).toBe(gatewayUrl);

    const alice = await signUpAndIn(gatewayUrl, 'alice-pack');
    const res = await alice.fetch('/api/orders');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user: 'alice-pack', staff: false });

    // Around the gateway: no passport. The service's onError sees why; the client a generic 401.
    const direct = await fetch(`${service.url}/api/orders`);
    expect(direct.status).toBe(401);
    expect(await direct.json()).toMatchObject({ code: 'missing_passport' });
    const forged = await fetch(`${service.url}/api/orders`, { headers: { 'x-passport': 'e30.e30.AAAA' } });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toBe('Passport realm="gatehouse", error="invalid_token", error_description="passport_malformed"');
    const refusals = () => jsonLines(service!.output()).filter((l) => 'refused' in l);
    await waitFor(() => refusals().length >= 2);
    expect(refusals()).toEqual([
      { refused: 'passport_missing', status: 401, path: '/api/orders' },
      { refused: 'passport_malformed', status: 401, path: '/api/orders' },
    ]);
  });
});
