import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicDir, vendorFiles } from '@gatehouse/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_SECURITY_HEADERS, Pages } from './pages.js';

// Pages serves assets/ and its subfolders (the page modules live in assets/js/): each file by
// its exact name, with its type, the asset caching and the page security headers.

let dir: string;
let outside: string;

/** Serves `pages` on a loopback port for the duration of `fn`. */
async function withServer(pages: Pages, fn: (url: string) => Promise<void>): Promise<void> {
  const server: Server = createServer((req, res) => {
    pages.serve(req, res, new URL(req.url ?? '/', 'http://x').pathname).catch(() => {
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise((done) => server.close(done));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-pages-'));
  outside = await mkdtemp(join(tmpdir(), 'gatehouse-outside-'));
  await writeFile(join(outside, 'secret.js'), 'not for you');
  await mkdir(join(dir, 'assets', 'js', 'deeper'), { recursive: true });
  await mkdir(join(dir, 'assets', '.hidden'));
  await writeFile(join(dir, 'assets', 'style.css'), 'body{}');
  await writeFile(join(dir, 'assets', 'js', 'main.js'), "import './deeper/part.js';");
  await writeFile(join(dir, 'assets', 'js', 'deeper', 'part.js'), 'export {};');
  await writeFile(join(dir, 'assets', '.hidden', 'x.js'), 'hidden');
  await writeFile(join(dir, 'assets', 'js', 'bad name.js'), 'bad');
  await symlink(outside, join(dir, 'assets', 'linked'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('Pages: assets in subfolders', () => {
  it('serves the files of assets/ and its subfolders with their type, asset caching and the page headers', async () => {
    await withServer(new Pages(dir), async (url) => {
      for (const [path, body, type] of [
        ['/assets/style.css', 'body{}', 'text/css; charset=utf-8'],
        ['/assets/js/main.js', "import './deeper/part.js';", 'text/javascript; charset=utf-8'],
        ['/assets/js/deeper/part.js', 'export {};', 'text/javascript; charset=utf-8'],
      ] as const) {
        const r = await fetch(url + path);
        expect(r.status, path).toBe(200);
        expect(await r.text()).toBe(body);
        expect(r.headers.get('content-type')).toBe(type);
        // The page modules are revalidated on every use (never old and new modules mixed after an upgrade); styles kept five minutes.
        expect(r.headers.get('cache-control')).toBe(path.startsWith('/assets/js/') ? 'no-cache' : 'public, max-age=300');
        for (const [k, v] of Object.entries(PAGE_SECURITY_HEADERS)) expect(r.headers.get(k), k).toBe(v);
      }
    });
  });

  it('answers 304 to a request that names the current ETag, and 200 with the body once the file differs', async () => {
    await withServer(new Pages(dir), async (url) => {
      const first = await fetch(`${url}/assets/js/main.js`);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^"[\w-]{27}"$/);
      const again = await fetch(`${url}/assets/js/main.js`, { headers: { 'if-none-match': `"other", W/${etag}` } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      expect(again.headers.get('etag')).toBe(etag);
      expect(again.headers.get('content-security-policy')).toBe(PAGE_SECURITY_HEADERS['content-security-policy']);
      const stale = await fetch(`${url}/assets/js/main.js`, { headers: { 'if-none-match': '"an-older-version"' } });
      expect(stale.status).toBe(200);
      expect(await stale.text()).toBe("import './deeper/part.js';");
      // Another file's tag is not this file's.
      const other = await fetch(`${url}/assets/js/deeper/part.js`, { headers: { 'if-none-match': etag } });
      expect(other.status).toBe(200);
    });
  });

  it('serves no hidden or oddly named file or folder, nothing through a symlink, and no folder itself', async () => {
    await withServer(new Pages(dir), async (url) => {
      for (const path of ['/assets/.hidden/x.js', '/assets/js/bad%20name.js', '/assets/js/bad name.js', '/assets/linked/secret.js', '/assets/js', '/assets/js/', '/assets/js/deeper']) {
        const r = await fetch(url + path);
        expect(r.status, path).toBe(404);
        expect(await r.text()).not.toContain('not for you');
      }
    });
  });

  it("serves every page module of @gatehouse/web as JavaScript", async () => {
    await withServer(new Pages(publicDir), async (url) => {
      const r = await fetch(`${url}/signin`);
      const src = /<script type="module" src="([^"]+)"/.exec(await r.text())?.[1];
      expect(src).toBe('/assets/js/main.js');
      for (const module of ['main', 'api', 'list', 'account-tokens']) {
        const m = await fetch(`${url}/assets/js/${module}.js`);
        expect(m.status, module).toBe(200);
        expect(m.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      }
    });
  });

  it('serves the admin pages (issue 18) at their exact paths, with the page security headers', async () => {
    await withServer(new Pages(publicDir), async (url) => {
      for (const [path, name] of [['/admin', 'admin-users'], ['/admin/user', 'admin-user'], ['/admin/audit', 'admin-audit']] as const) {
        expect(Pages.handles(path), path).toBe(true);
        const r = await fetch(url + path);
        expect(r.status, path).toBe(200);
        expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
        for (const [k, v] of Object.entries(PAGE_SECURITY_HEADERS)) expect(r.headers.get(k), `${path} ${k}`).toBe(v);
        expect(await r.text()).toContain(`data-page="${name}"`);
      }
    });
    // Only those exact paths are pages.
    for (const path of ['/admin/', '/admin/users', '/admin/users/123', '/admin/user/123']) expect(Pages.handles(path), path).toBe(false);
  });

  it('serves a library file from node_modules at its fixed path, cached as the page modules are (the passkey library, no CDN)', async () => {
    await withServer(new Pages(publicDir, vendorFiles), async (url) => {
      const r = await fetch(`${url}/assets/js/vendor/simplewebauthn-browser.js`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(r.headers.get('cache-control')).toBe('no-cache');
      for (const [k, v] of Object.entries(PAGE_SECURITY_HEADERS)) expect(r.headers.get(k), k).toBe(v);
      const body = await r.text();
      expect(body).toMatch(/^\/\* \[@simplewebauthn\/browser@13\./);
      expect(body).toContain('SimpleWebAuthnBrowser');
      const again = await fetch(`${url}/assets/js/vendor/simplewebauthn-browser.js`, { headers: { 'if-none-match': r.headers.get('etag')! } });
      expect(again.status).toBe(304);
    });
    // Without the vendor files (a bare Pages), that path is not served.
    await withServer(new Pages(publicDir), async (url) => {
      expect((await fetch(`${url}/assets/js/vendor/simplewebauthn-browser.js`)).status).toBe(404);
    });
  });

  it('refuses a vendor path outside /assets/ or with an odd name', async () => {
    for (const bad of ['/elsewhere/x.js', '/assets/../x.js', '/assets/js/.x.js']) {
      await withServer(new Pages(dir, { [bad]: join(dir, 'assets', 'style.css') }), async (url) => {
        expect((await fetch(`${url}/assets/style.css`)).status, bad).toBe(404);
      });
    }
  });
});
