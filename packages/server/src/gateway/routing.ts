import type { RouteConfig } from '../config/types.js';
import { GatehouseError } from '../errors/index.js';

/** A route prepared once at start, so matching and policy checks do no parsing per request. */
export interface CompiledRoute {
  readonly config: RouteConfig;
  /** Prefix without a trailing slash ("/" stays "/"). */
  readonly prefix: string;
  /** Metrics label. */
  readonly label: string;
  readonly service: string;
  readonly auth: RouteConfig['auth'];
  /** Origin of the upstream (the pool key). */
  readonly origin: string;
  /** Path of the upstream base URL without a trailing slash ("" for none); prepended when proxying. */
  readonly basePath: string;
  readonly roles: readonly string[];
  /** Client ids whose client-credentials tokens may call the route (none: no client may). */
  readonly clients: ReadonlySet<string>;
  readonly scopes: Readonly<Record<string, readonly string[]>> | undefined;
  /** Lower-case media types accepted for request bodies. */
  readonly contentTypes: ReadonlySet<string>;
  readonly maxBodyBytes: number;
  readonly loginCsrf: boolean;
  /** WebSocket upgrades are proxied (`routes[].websocket`, default true). */
  readonly websocket: boolean;
  /** `routes[].mfa`: the user's amr must hold `mfa`. */
  readonly mfa: boolean;
  /** `routes[].maxAuthAgeSec`: the user must have authenticated within this many seconds; undefined: any time. */
  readonly maxAuthAgeSec: number | undefined;
  /** A route of the auth service itself: it still gets the device cookies (never the session or CSRF cookie). */
  readonly authService: boolean;
}

export function compileRoute(route: RouteConfig, defaultMaxBodyBytes: number, authService = false): CompiledRoute {
  if (typeof route.path !== 'string' || !route.path.startsWith('/') || /[?#%\\]|\/\/|\/\.\.?(\/|$)/.test(route.path)) {
    throw new Error(`route path ${JSON.stringify(route.path)} must be a plain absolute path`);
  }
  let url: URL;
  try {
    url = new URL(route.upstream);
  } catch {
    throw new Error(`route ${route.path}: upstream ${JSON.stringify(route.upstream)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`route ${route.path}: upstream must be http or https`);
  const prefix = route.path.length > 1 ? route.path.replace(/\/+$/, '') : '/';
  return {
    config: route,
    prefix,
    label: prefix,
    service: route.service,
    auth: route.auth,
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    roles: route.roles ?? [],
    clients: new Set(route.clients ?? []),
    scopes: route.scopes,
    contentTypes: new Set((route.contentTypes ?? ['application/json']).map((t) => t.trim().toLowerCase())),
    maxBodyBytes: route.maxBodyBytes ?? defaultMaxBodyBytes,
    loginCsrf: route.loginCsrf === true,
    // The auth service speaks no WebSocket.
    websocket: !authService && route.websocket !== false,
    mfa: route.mfa === true,
    maxAuthAgeSec: route.maxAuthAgeSec,
    authService,
  };
}

/** `target` when it is a path of this origin ("/x", never "//host" or "/\\host"), else "/". */
function samePath(target: string): string {
  return target.charCodeAt(0) === 47 && target.charCodeAt(1) !== 47 && target.charCodeAt(1) !== 92 ? target : '/';
}

/**
 * Where a page refused for a stale or weak sign-in goes (issue 17, step-up): the sign-in page in
 * re-authentication mode, which proves the user again on the same session (POST /auth/reauth) and
 * returns to `next`, a same-origin path. `mfa=1`: a second factor is needed.
 */
export function reauthLocation(target: string, mfa: boolean): string {
  return `/signin?reauth=1&next=${encodeURIComponent(samePath(target))}${mfa ? '&mfa=1' : ''}`;
}

/** Longest-prefix matching on segment boundaries; equal prefixes: the first listed wins. */
export class RouteTable {
  private readonly routes: CompiledRoute[];

  constructor(routes: readonly CompiledRoute[]) {
    // Stable sort: config-file routes stay in front of demo routes with the same prefix.
    this.routes = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** `/api/notes` matches `/api/notes` and `/api/notes/…`, never `/api/notesX`. */
  match(path: string): CompiledRoute | undefined {
    const routes = this.routes;
    const n = path.length;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      const p = r.prefix;
      // Longest first: the prefixes longer than the path (most auth routes, for an API path) cost a length compare.
      if (p.length > n) continue;
      if (p === '/') return r;
      if (path.startsWith(p) && (n === p.length || path.charCodeAt(p.length) === 47)) return r;
    }
    return undefined;
  }

  all(): readonly CompiledRoute[] {
    return this.routes;
  }
}

function badPath(detail: string): GatehouseError {
  return new GatehouseError('invalid_request', { detail });
}

const DOUBLE_ENCODED = /%[0-9a-f]{2}/i;

/**
 * The path a request is routed by: its raw path when it needs no decoding (the hot path), else
 * the percent-decoded path. Refuses what could make this router and an upstream disagree on
 * where a request goes: dot-segments (plain or encoded), encoded slashes or backslashes,
 * backslashes, empty segments (`//api`), NUL, bad or double percent-encoding.
 * `rawPath` is the request target up to `?` (the caller has checked it starts with `/`).
 */
export function routingPath(rawPath: string): string | GatehouseError {
  if (rawPath.indexOf('%') < 0 && rawPath.indexOf('/.') < 0 && rawPath.indexOf('//') < 0 && rawPath.indexOf('\\') < 0) return rawPath;
  if (rawPath.indexOf('\\') >= 0) return badPath('The path must not contain a backslash.');
  if (rawPath.indexOf('//') >= 0) return badPath('The path must not contain empty segments.');
  const segments = rawPath.split('/');
  for (let i = 1; i < segments.length; i++) {
    let seg = segments[i]!;
    if (seg.indexOf('%') >= 0) {
      try {
        seg = decodeURIComponent(seg);
      } catch {
        return badPath('The path is not valid percent-encoding.');
      }
      if (/[/\\\0]/.test(seg)) return badPath('The path must not contain encoded slashes, backslashes or NUL.');
      if (DOUBLE_ENCODED.test(seg)) return badPath('The path must not be percent-encoded twice.');
      segments[i] = seg;
    }
    if (seg === '.' || seg === '..') return badPath('The path must not contain dot-segments.');
  }
  return segments.join('/');
}

/**
 * `/signin?next=…` for a page request: `next` is the request's own path and query, which the
 * caller has validated as a same-origin path; anything else falls back to `/`.
 */
export function signinLocation(target: string, signedOut = false): string {
  const safe = samePath(target);
  // `reason=signed_out`: the session cookie named an ended session; the page says so (a fixed sentence).
  return `/signin?next=${encodeURIComponent(safe)}${signedOut ? '&reason=signed_out' : ''}`;
}
