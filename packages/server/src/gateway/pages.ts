import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { GatehouseError } from '../errors/index.js';

/** Headers of every page and asset answer. */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.map': 'application/json',
};

interface StaticFile {
  body: Buffer;
  headers: Record<string, string | number>;
  /** A strong validator of the body (quoted): a request whose If-None-Match names it gets 304. */
  etag: string;
}

/**
 * Pages and the page modules (`assets/js/`) are revalidated on every use (`no-cache` + ETag: a
 * 304 when unchanged), so after an upgrade a browser never runs a new page with old modules or
 * old modules together with new ones; styles and images may be kept five minutes.
 */
const REVALIDATE = 'no-cache';
const ASSET_CACHE = 'public, max-age=300';

const PAGES: Record<string, string> = {
  '/': 'index.html',
  '/signin': 'signin.html',
  '/signup': 'signup.html',
  '/account': 'account.html',
  '/notes': 'notes.html',
  // RFC 8628 verification_uri (credentials/token-endpoint-metadata.ts: DEVICE_VERIFICATION_PATH).
  '/device': 'device.html',
  // Account recovery (issue 18): links carry their token in the fragment (#token=…), never the query.
  '/forgot-password': 'forgot-password.html',
  '/reset-password': 'reset-password.html',
  '/verify-email': 'verify-email.html',
  // The admin pages (issue 18): static like the others; the admin API they call checks the role.
  '/admin': 'admin.html',
  '/admin/user': 'admin-user.html',
  '/admin/audit': 'admin-audit.html',
};
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The web pages and `/assets/*`, read once (on first use) and kept in memory. Only files that
 * were in the folder then are served, by exact name: no path from a request ever reaches the
 * file system, so there is nothing to traverse.
 */
export class Pages {
  private files: Promise<Map<string, StaticFile>> | undefined;

  /**
   * @param dir the pages folder (`index.html`, `assets/`, …)
   * @param vendor files from npm packages to serve too, URL path → absolute file (@gatehouse/web's
   *   `vendorFiles`): read with the folder, cached as any file at that path would be.
   */
  constructor(
    private readonly dir: string,
    private readonly vendor: Readonly<Record<string, string>> = {},
  ) {}

  /** Whether this path is a page or asset path (whatever the method). */
  static handles(path: string): boolean {
    return PAGES[path] !== undefined || path.startsWith('/assets/');
  }

  async serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const file = (await this.load()).get(path);
    if (file === undefined) throw new GatehouseError('not_found', { detail: 'No such page.' });
    if (matchesEtag(req.headers['if-none-match'], file.etag)) {
      const { 'content-length': _length, ...headers } = file.headers;
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, file.headers);
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }

  private load(): Promise<Map<string, StaticFile>> {
    this.files ??= this.read().catch((err: unknown) => {
      this.files = undefined;
      throw err;
    });
    return this.files;
  }

  private async read(): Promise<Map<string, StaticFile>> {
    const files = new Map<string, StaticFile>();
    const add = async (urlPath: string, file: string, cacheControl: string) => {
      let body: Buffer;
      try {
        body = await readFile(file);
      } catch {
        return;
      }
      const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      files.set(urlPath, { body, etag, headers: { ...PAGE_SECURITY_HEADERS, 'content-type': type, 'content-length': body.length, 'cache-control': cacheControl, etag } });
    };
    for (const [urlPath, name] of Object.entries(PAGES)) await add(urlPath, join(this.dir, name), REVALIDATE);
    // assets/ and its subfolders (assets/js/ holds the page modules), each name checked.
    const walk = async (urlDir: string, dir: string): Promise<void> => {
      let entries: Dirent[] = [];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return; // No assets folder: nothing to serve there.
      }
      for (const d of entries) {
        if (!ASSET_NAME.test(d.name)) continue;
        if (d.isFile()) await add(`${urlDir}/${d.name}`, join(dir, d.name), cacheFor(urlDir));
        else if (d.isDirectory()) await walk(`${urlDir}/${d.name}`, join(dir, d.name));
      }
    };
    await walk('/assets', join(this.dir, 'assets'));
    // Library files the page modules import (e.g. /assets/js/vendor/simplewebauthn-browser.js): a
    // fixed path each, never a path from a request; a missing one is simply not served (404).
    for (const [urlPath, file] of Object.entries(this.vendor)) {
      if (!urlPath.startsWith('/assets/') || urlPath.split('/').slice(2).some((n) => !ASSET_NAME.test(n))) throw new Error(`not an asset path: ${urlPath}`);
      await add(urlPath, file, cacheFor(urlPath.slice(0, urlPath.lastIndexOf('/'))));
    }
    return files;
  }
}

/** The cache-control of a file in URL folder `urlDir`: the page modules (assets/js/ and below) revalidated, other assets kept a while. */
function cacheFor(urlDir: string): string {
  return urlDir === '/assets/js' || urlDir.startsWith('/assets/js/') ? REVALIDATE : ASSET_CACHE;
}

/** Whether an If-None-Match header names `etag` (a list, `*`, weak forms compared weakly as RFC 9110 §13.1.2 says). */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
