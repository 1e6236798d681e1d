// The TypeScript in README.md and packages/sdk/README.md, as a newcomer pastes it: every ```ts
// block is type-checked on its own (a program per block, so one block's imports never help
// another) under --strict with moduleResolution node16 and bundler, against the built SDK; the
// root README's service then runs behind a real gateway routed by the README's own config block.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, jsonLines, REPO_ROOT, startService, waitFor } from './consumer.js';
import type { RunningService } from './consumer.js';
import { browser, runCli, startGatehouse, type StartedGatehouse } from './harness.js';

interface Block {
  /** e.g. README.md:112 */
  where: string;
  file: string;
  code: string;
}

function fencedBlocks(readme: string, lang: string): Block[] {
  const text = readFileSync(join(REPO_ROOT, readme), 'utf8');
  const blocks: Block[] = [];
  const fence = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```', 'gm');
  for (const m of text.matchAll(fence)) {
    const line = text.slice(0, m.index).split('\n').length + 1;
    blocks.push({ where: `${readme}:${line}`, file: `${readme.replace(/\W+/g, '-')}-${line}.ts`, code: m[1]! });
  }
  return blocks;
}

const READMES = ['README.md', 'packages/sdk/README.md'];
const blocks = READMES.flatMap((r) => fencedBlocks(r, 'ts'));

const STRICT: ts.CompilerOptions = { strict: true, target: ts.ScriptTarget.ES2022, noEmit: true, types: ['node'], skipLibCheck: true };
const RESOLUTIONS: Record<string, ts.CompilerOptions> = {
  node16: { ...STRICT, module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 },
  bundler: { ...STRICT, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler },
};

let dir: string;
/** One parse of each library file for all the programs (a program per block is otherwise slow). */
const parsed = new Map<string, ts.SourceFile | undefined>();

/** The diagnostics of a program of just these files, as tsc would print them. */
function check(files: string[], options: ts.CompilerOptions): string {
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, onError) => {
    const key = `${name}\0${typeof version === 'object' ? `${version.languageVersion}/${version.impliedNodeFormat}` : version}`;
    if (name.startsWith(dir)) return getSourceFile(name, version, onError);
    if (!parsed.has(key)) parsed.set(key, getSourceFile(name, version, onError));
    return parsed.get(key);
  };
  const program = ts.createProgram(files.map((f) => join(dir, f)), options, host);
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()];
  return ts.formatDiagnostics(diagnostics, { ...host, getNewLine: () => '\n', getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir });
}

const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  // A project outside the workspace that sees this checkout's node_modules (so `@gatehouse/sdk`
  // resolves through its package.json exports to the built dist, as it would once installed).
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-readme-'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme-examples', private: true, type: 'module' }));
  for (const b of blocks) writeFileSync(join(dir, b.file), b.code);
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('README code blocks', () => {
  it('are found: the root README service and the SDK README examples', () => {
    expect(blocks.filter((b) => b.where.startsWith('README.md')).length).toBeGreaterThanOrEqual(1);
    expect(blocks.filter((b) => b.where.startsWith('packages/sdk/')).length).toBeGreaterThanOrEqual(3);
    for (const b of blocks) expect(b.code, b.where).not.toMatch(/\bas any\b|@ts-(ignore|expect-error|nocheck)/);
  });

  it('type-check as pasted under --strict, moduleResolution node16, each block alone', { timeout: 60_000 }, () => {
    for (const b of blocks) expect(check([b.file], RESOLUTIONS.node16!), b.where).toBe('');
  });

  it('type-check under --strict, moduleResolution bundler (all blocks in one program: isolation is shown above)', { timeout: 60_000 }, () => {
    expect(check(blocks.map((b) => b.file), RESOLUTIONS.bundler!)).toBe('');
  });

  it('would not: without the Fastify entry point request.passport is unknown (the check is not vacuous)', { timeout: 60_000 }, () => {
    const main = blocks[0]!;
    writeFileSync(join(dir, 'no-augmentation.ts'), main.code.replace(/^import \{ fastifyPassport \} from '@gatehouse\/sdk\/fastify'.*$/m, "import { fastifyPassport } from '@gatehouse/sdk';"));
    expect(check(['no-augmentation.ts'], RESOLUTIONS.node16!)).toMatch(/Property 'passport' does not exist on type 'FastifyRequest/);
  });

  it('never show a bare `npx gatehouse` (the unscoped npm name is an unrelated package)', () => {
    const docs = ['README.md', 'DEVELOPERS.md', 'SCALING.md', 'BENCHMARKS.md', 'bench/README.md', ...readdirSync(join(REPO_ROOT, 'docs')).map((f) => `docs/${f}`)];
    docs.push(...readdirSync(join(REPO_ROOT, 'packages')).map((p) => `packages/${p}/README.md`).filter((f) => { try { readFileSync(join(REPO_ROOT, f)); return true; } catch { return false; } }));
    docs.push('packages/server/src/cli/help.ts');
    for (const f of docs) expect(readFileSync(join(REPO_ROOT, f), 'utf8'), f).not.toMatch(/npx\s+gatehouse\b/);
  });
});

describe('the root README service, run as pasted behind a live gateway', () => {
  let gatehouse: StartedGatehouse;
  let service: RunningService;

  it('serves a staff user through the gateway, which refuses the others; a bypass is refused and logged with its cause', { timeout: 60_000 }, async () => {
    const main = blocks.find((b) => b.where.startsWith('README.md') && b.code.includes('listen('))!;
    const js = ts.transpileModule(main.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    writeFileSync(join(dir, 'readme-service.js'), js);
    const port = await freePort();
    const gatewayUrl = `http://127.0.0.1:${port}`;
    service = await startService(join(dir, 'readme-service.js'), { GATEHOUSE_URL: gatewayUrl, PORT: '0' }, dir);
    cleanups.push(() => service.stop());

    // The README's route, pointed at where the service listens.
    const configBlock = fencedBlocks('README.md', 'json').find((b) => b.code.includes('"routes"'))!;
    const config = JSON.parse(configBlock.code) as { routes: { upstream: string; roles?: string[] }[] };
    config.routes[0]!.upstream = service.url;
    expect(config.routes[0]!.roles).toEqual(['staff']);
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    writeFileSync(join(dir, 'gatehouse.json'), JSON.stringify(config));
    gatehouse = await startGatehouse(dataDir, { GATEHOUSE_PORT: String(port), GATEHOUSE_CONFIG: join(dir, 'gatehouse.json') });
    cleanups.push(async () => void (await gatehouse.stop()));

    const password = 'correct horse battery staple';
    expect(runCli(['users', 'add', 'stella', '--role', 'staff'], { dataDir, input: `${password}\n` }).code).toBe(0);
    expect(runCli(['users', 'add', 'walter'], { dataDir, input: `${password}\n` }).code).toBe(0);
    const signIn = async (username: string) => {
      const b = browser(gatewayUrl);
      const res = await b.fetch('/auth/signin', { method: 'POST', json: { username, password } });
      expect(res.status).toBe(200);
      return b;
    };
    const staff = await (await signIn('stella')).fetch('/api/orders');
    expect(staff.status).toBe(200);
    expect(await staff.json()).toEqual({ user: 'stella' });
    const other = await (await signIn('walter')).fetch('/api/orders');
    expect(other.status).toBe(403);

    // Straight to the service: refused, and its log (Fastify's logger, on by the example) says why.
    const bypass = await fetch(`${service.url}/api/orders`, { headers: { 'x-passport': 'e30.e30.AAAA' } });
    expect(bypass.status).toBe(401);
    expect(bypass.headers.get('www-authenticate')).toContain('error_description="passport_malformed"');
    const refusals = () => jsonLines(service.output()).filter((l) => 'passportError' in l);
    await waitFor(() => refusals().length >= 1);
    expect(refusals()).toEqual([
      expect.objectContaining({ level: 40, passportError: 'passport_malformed', msg: expect.stringContaining('passport_malformed') }),
    ]);
  });
});
