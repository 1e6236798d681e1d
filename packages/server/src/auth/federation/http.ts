/**
 * What the federation endpoints (`auth/endpoints/federation-*.ts`) share: the redirect URI of a
 * provider, the same-origin check of `next`, a provider's account rules, and how a refusal is
 * answered (an HTML page for a browser navigation, problem+json for anything else).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatehouseConfig } from '../../config/types.js';
import type { Deps } from '../../context.js';
import { ERROR_REGISTRY, GatehouseError } from '../../errors/index.js';
import { sendProblem } from '../http-errors.js';
import type { AccountRules } from './accounts.js';
import { federationCookieName, federationCookieOptions } from './transaction.js';

/** `<publicUrl>/auth/federation/<id>/callback`: the redirect URI registered at the provider (docs/federation.md). */
export function redirectUriOf(config: GatehouseConfig, providerId: string): string {
  if (!config.publicUrl) throw new Error('publicUrl must be resolved before federation is used');
  return `${config.publicUrl.replace(/\/+$/, '')}/auth/federation/${encodeURIComponent(providerId)}/callback`;
}

/**
 * `next` when it is a same-origin path, else `/`: the rule of the pages' `safeNext`
 * (packages/web session.js) on the server. Only `/…`; never `//host`, `/\host`, a scheme, or
 * control or white-space characters (browsers drop tabs and newlines, which could turn
 * `/\t/evil` into `//evil`); and the path must still resolve to this origin.
 */
export function safeNextPath(raw: unknown): string {
  if (typeof raw !== 'string' || raw === '' || raw.length > 2048) return '/';
  if (raw.charAt(0) !== '/' || raw.charAt(1) === '/' || raw.charAt(1) === '\\') return '/';
  if (/[\u0000-\u0020\u007f\\]/.test(raw)) return '/';
  const base = 'http://next.invalid';
  try {
    const url = new URL(raw, base);
    if (url.origin !== base) return '/';
    return url.pathname + url.search + url.hash;
  } catch {
    return '/';
  }
}

/** The account rules of the configured provider `id`. */
export function accountRulesOf(config: GatehouseConfig, id: string): AccountRules {
  const p = config.federation.providers.find((x) => x.id === id);
  return { allowSignup: p?.allowSignup ?? false, linkByVerifiedEmail: p?.linkByVerifiedEmail ?? false };
}

/** Ends the transaction in the browser (once a callback has read it, or failed). */
export function clearTransactionCookie(reply: FastifyReply, config: GatehouseConfig): void {
  reply.setCookie(federationCookieName(config), '', { ...federationCookieOptions(config), maxAge: 0, expires: new Date(0) });
}

/** A top-level browser navigation (it asks for HTML), not a script or an API client. */
export function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.toLowerCase().includes('text/html');
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Answers a refusal of a federation endpoint. Logged first with the provider, the code and the
 * cause's message (the adapters' causes carry no code, token or claim). A browser navigation gets
 * a small HTML page (the same status and headers, e.g. 503 + Retry-After, no script, a link to
 * the sign-in page); anything else gets the problem+json.
 */
export function sendFederationRefusal(deps: Deps, request: FastifyRequest, reply: FastifyReply, providerId: string, err: unknown): FastifyReply {
  if (!(err instanceof GatehouseError)) throw err;
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  deps.logger.info({ event: 'federation.refused', provider: providerId, code: err.code, status: err.status, ...(cause === undefined ? {} : { reason: cause }) }, 'federated sign-in refused');
  if (!wantsHtml(request) || request.method !== 'GET') return sendProblem(reply, err);
  const title = ERROR_REGISTRY[err.code].title;
  const detail = err.detail ?? '';
  const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} - Gatehouse</title></head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p id="problem" data-code="${escapeHtml(err.code)}">${escapeHtml(detail)}</p>
<p><a href="/signin">Back to the sign-in page</a></p>
</main>
</body>
</html>
`;
  return reply
    .code(err.status)
    .headers(err.headers ?? {})
    .header('cache-control', 'no-store')
    // Nothing to run or load: no script, style or frame, whatever the page says.
    .header('content-security-policy', "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    .header('x-content-type-options', 'nosniff')
    .type('text/html; charset=utf-8')
    .send(page);
}
