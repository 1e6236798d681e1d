import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publicDir, vendorFiles } from '../index.js';

// The pages load their script as native ES modules, with no build step: a page that names a
// missing script, or a module that imports a missing file, fails only in a browser. The type
// check (packages/web/tsconfig.json) also refuses an import of a missing file, but it never
// reads the HTML; this test walks from each page's <script> through every import.

const assets = join(publicDir, 'assets');
const pages = readdirSync(publicDir).filter((n) => n.endsWith('.html'));

/** The <script> tags of a page: their attributes and whether they hold inline code. */
function scriptsOf(html: string): { attrs: string; inline: boolean }[] {
  return [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].map((m) => ({ attrs: m[1] ?? '', inline: (m[2] ?? '').trim() !== '' }));
}

/** The module specifiers a file imports or re-exports (static and dynamic), comments left out (JSDoc's `import('…')` types are not loaded). */
function specifiersOf(code: string): string[] {
  const source = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  for (const m of source.matchAll(/^\s*(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gm)) found.push(m[1] ?? '');
  for (const m of source.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) found.push(m[1] ?? '');
  for (const m of source.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1] ?? '');
  return found;
}

/** Every file reached from `entry` by imports, with each import that does not resolve to a file. */
function walk(entry: string): { reached: Set<string>; broken: string[] } {
  const reached = new Set<string>();
  const broken: string[] = [];
  const visit = (file: string) => {
    if (reached.has(file)) return;
    if (!existsSync(file)) {
      broken.push(`${relative(publicDir, file)}: no such file`);
      return;
    }
    reached.add(file);
    for (const spec of specifiersOf(readFileSync(file, 'utf8'))) {
      const where = `${relative(publicDir, file)} imports '${spec}'`;
      if (!/^\.\.?\//.test(spec) || !spec.endsWith('.js')) {
        broken.push(`${where}: browsers load only relative paths ending in .js`);
        continue;
      }
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(assets + sep)) broken.push(`${where}: outside public/assets`);
      else if (!existsSync(target) || !statSync(target).isFile()) broken.push(`${where}: no such file`);
      else visit(target);
    }
  };
  visit(entry);
  return { reached, broken };
}

/** The module entry of a page (the src of its one module script), as a file path. */
function entryOf(page: string): string {
  const scripts = scriptsOf(readFileSync(join(publicDir, page), 'utf8'));
  const src = /\bsrc="([^"]+)"/.exec(scripts[0]?.attrs ?? '')?.[1] ?? '';
  return join(publicDir, src);
}

function allScripts(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? allScripts(join(dir, d.name)) : d.name.endsWith('.js') ? [join(dir, d.name)] : [],
  );
}

describe('page scripts', () => {
  it('finds the pages', () => {
    expect(pages).toEqual(expect.arrayContaining(['index.html', 'signin.html', 'signup.html', 'notes.html', 'account.html']));
  });

  it.each(pages)('%s loads one module script from /assets/, which exists, and no inline script (the CSP forbids it)', (page) => {
    const scripts = scriptsOf(readFileSync(join(publicDir, page), 'utf8'));
    expect(scripts).toHaveLength(1);
    const [script] = scripts;
    expect(script?.inline).toBe(false);
    expect(script?.attrs).toMatch(/\btype="module"/);
    expect(script?.attrs).toMatch(/\bsrc="\/assets\/[^"]+\.js"/);
    const entry = entryOf(page);
    expect(existsSync(entry), `${page}: ${relative(publicDir, entry)} does not exist`).toBe(true);
  });

  it.each(pages)('every import reached from the module of %s resolves to a file in public/assets', (page) => {
    expect(walk(entryOf(page)).broken).toEqual([]);
  });

  it('every script in public/assets is reached from a page (none left behind)', () => {
    const reached = new Set(pages.flatMap((p) => [...walk(entryOf(p)).reached]));
    const unreached = allScripts(assets).filter((f) => !reached.has(f)).map((f) => relative(publicDir, f));
    expect(unreached).toEqual([]);
  });

  it('every element id a page module looks up exists in its page', () => {
    // data-page="X" is driven by X.js (and its parts X-*.js), named as main.js maps them.
    const missing: string[] = [];
    for (const page of pages) {
      const html = readFileSync(join(publicDir, page), 'utf8');
      const name = /<body[^>]*\bdata-page="([^"]+)"/.exec(html)?.[1];
      expect(name, `${page} names its data-page`).toBeTruthy();
      const dir = join(assets, 'js');
      const modules = readdirSync(dir).filter((f) => f === `${name}.js` || f.startsWith(`${name}-`));
      expect(modules, `${page}: a module for data-page="${name}"`).toContain(`${name}.js`);
      // A name with a hyphen (admin-users) is a quoted key.
      expect(readFileSync(join(dir, 'main.js'), 'utf8')).toMatch(new RegExp(`(?:\\b${name}|'${name}'): init\\w+`));
      for (const file of modules) {
        for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/\$\('([^']+)'/g)) {
          if (!html.includes(`id="${m[1]}"`)) missing.push(`${file}: #${m[1]} is not in ${page}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('every element id the shared admin module looks up is in each admin page', () => {
    const shared = readFileSync(join(assets, 'js', 'admin-shared.js'), 'utf8');
    const ids = [...shared.matchAll(/\$\('([^']+)'/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(0);
    const adminPages = pages.filter((p) => /<body[^>]*\bdata-page="admin-/.test(readFileSync(join(publicDir, p), 'utf8')));
    expect(adminPages.sort()).toEqual(['admin-audit.html', 'admin-user.html', 'admin.html']);
    const missing = adminPages.flatMap((p) => ids.filter((id) => !readFileSync(join(publicDir, p), 'utf8').includes(`id="${id}"`)).map((id) => `${p}: #${id}`));
    expect(missing).toEqual([]);
  });

  it('the import reader finds static, re-exported, side-effect and dynamic imports', () => {
    const source = "import { a } from './a.js';\nimport {\n  b,\n  c,\n} from \"./b.js\";\nexport { d } from './d.js';\nimport './e.js';\nconst f = import('./f.js');\n// import nothing\n/** @type {import('./g.js').G} */\n// const h = import('./h.js');\n";
    expect(specifiersOf(source)).toEqual(['./a.js', './b.js', './d.js', './e.js', './f.js']);
  });

  it('every library file the gateway serves from node_modules exists and is loaded by a page module by its path', () => {
    const sources = allScripts(assets).map((f) => [f, readFileSync(f, 'utf8')] as const);
    for (const [urlPath, file] of Object.entries(vendorFiles)) {
      expect(urlPath).toMatch(/^\/assets\/js\/vendor\/[\w.-]+\.js$/);
      expect(existsSync(file) && statSync(file).isFile(), `${urlPath}: ${file}`).toBe(true);
      // Not in public/ (served from node_modules), so the import walk cannot see it: a module names it with a URL relative to itself.
      expect(existsSync(join(publicDir, urlPath))).toBe(false);
      const users = sources.filter(([f, src]) => src.includes(`'${relative(dirname(f), join(publicDir, urlPath)).split(sep).join('/').replace(/^(?!\.)/, './')}'`));
      expect(users.length, `a page module loads ${urlPath}`).toBeGreaterThan(0);
    }
  });
});
