import type { FastifyRequest } from 'fastify';
import type { Deps } from '../context.js';
import { hashSecret } from '../crypto/secrets.js';
import { verifyClientSecret } from '../credentials/clients.js';
import type { TOKEN_ENDPOINT_AUTH_METHODS } from '../credentials/token-endpoint-metadata.js';
import { GatehouseError } from '../errors/index.js';
import { CLIENT_ID_RE, FIRST_PARTY_CLIENT_ID, type ClientRecord, type RateLimitRule } from '../stores/types.js';
import { clientIp, ipBucket } from './client-ip.js';
import { rateLimited } from './rate-limit.js';

/**
 * Client authentication at POST /auth/token (RFC 6749 §2.3, issue 14 §1):
 * `client_secret_basic` (HTTP Basic, id and secret each form-urlencoded, §2.3.1) or
 * `client_secret_post` (client_id and client_secret in the body), never both, never in the URL.
 * A request with no secret is the first-party public client `gatehouse` (client_id omitted or
 * "gatehouse") or names another client without authenticating (`unauthenticated`).
 */


export const BASIC_CHALLENGE = 'Basic realm="gatehouse"';

/** 401 invalid_client with `WWW-Authenticate: Basic` (RFC 6749 §5.2). */
export function invalidClient(detail = 'Client authentication failed.'): GatehouseError {
  return new GatehouseError('invalid_client', { detail, headers: { 'www-authenticate': BASIC_CHALLENGE } });
}

function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Client id and secret from `Authorization: Basic` (RFC 6749 §2.3.1: each form-encoded), or null when there is no Authorization header. */
export function basicCredentials(request: FastifyRequest): { id: string; secret: string } | null {
  const header = request.headers.authorization;
  if (header === undefined) return null;
  const m = /^basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (!m) throw invalidClient('The Authorization header is not HTTP Basic.');
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) throw invalidClient();
  return { id: formDecode(text.slice(0, colon)), secret: formDecode(text.slice(colon + 1)) };
}

export type TokenClient =
  /** No secret, client_id omitted or "gatehouse": the first-party public client (unchanged behaviour). */
  | { kind: 'first_party' }
  /** No secret, another client_id: not authenticated (only a public client may go on, with grants that allow it). */
  | { kind: 'unauthenticated'; clientId: string }
  /** A confidential client whose secret matched. */
  | { kind: 'confidential'; client: ClientRecord };

export type TokenClientMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** How a request authenticates its client, before any store call: throws invalid_request for a secret in the URL or two methods at once. */
export function tokenClientMethod(request: FastifyRequest, params: { client_id?: string | undefined; client_secret?: string | undefined }): TokenClientMethod {
  const q = request.url.indexOf('?');
  if (q >= 0 && new URLSearchParams(request.url.slice(q + 1)).has('client_secret')) {
    throw new GatehouseError('invalid_request', { detail: 'Never send a client secret in the URL: use HTTP Basic or the request body.' });
  }
  // Only HTTP Basic is client authentication; another scheme (a Bearer an app sends everywhere)
  // is ignored, as before (the gateway forwards Basic only, here).
  const hasBasic = /^basic /i.test(request.headers.authorization ?? '');
  if (hasBasic && params.client_secret !== undefined) {
    throw new GatehouseError('invalid_request', { detail: 'Send the client credentials once: HTTP Basic or client_secret in the body, not both.' });
  }
  if (hasBasic) return 'client_secret_basic';
  return params.client_secret !== undefined ? 'client_secret_post' : 'none';
}

function failureRules(deps: Deps): { client: RateLimitRule; ip: RateLimitRule | null } {
  const cfg = deps.config.signin;
  return {
    client: { points: cfg.maxFailures, durationSec: cfg.lockWindowSec },
    ip: cfg.perIpPerMinute > 0 ? { points: cfg.perIpPerMinute, durationSec: 60 } : null,
  };
}

const clientKey = (clientId: string): string => `client-auth:client:${hashSecret(clientId)}`;
const ipKey = (request: FastifyRequest): string => `client-auth:ip:${ipBucket(clientIp(request))}`;

/**
 * Authenticates the client of a token request. With a secret (Basic or body): the client must
 * exist, be confidential and the secret be live (`verifyClientSecret`, constant time), else 401
 * invalid_client, the same answer whatever was wrong. Failures count per client id
 * (`signin.maxFailures` per `signin.lockWindowSec`) and per address (`signin.perIpPerMinute` a
 * minute); past either, 429 at once, right secret or not. A success writes nothing to the
 * rate-limit store unless the client had failures to clear, and records the use
 * (`touchLastUsed`, at most once a minute per client and process).
 *
 * Unlike a sign-in, no attempt is reserved before the check: the counters are read (`peek`), the
 * secret checked, and a failure counted afterwards. A sign-in reserves a point first so that N
 * parallel guesses at a weak password check at most `maxFailures` of them; a client secret is
 * 256 bits the server generated (`ghc_…`, credentials/token-formats.ts), so a burst of parallel
 * guesses (each still counted, and refused once the count is reached) has no chance either way,
 * and the token request of a service, every few minutes or per exchanged call, stays free of
 * store writes (two per success on Redis before: the reservation and its reset).
 */
export async function authenticateTokenClient(
  deps: Deps,
  request: FastifyRequest,
  params: { client_id?: string | undefined; client_secret?: string | undefined },
): Promise<TokenClient> {
  const method = tokenClientMethod(request, params);
  if (method === 'none') {
    if (params.client_id === undefined || params.client_id === FIRST_PARTY_CLIENT_ID) return { kind: 'first_party' };
    return { kind: 'unauthenticated', clientId: params.client_id };
  }
  let id: string;
  let secret: string;
  if (method === 'client_secret_basic') {
    const basic = basicCredentials(request)!;
    if (params.client_id !== undefined && params.client_id !== basic.id) {
      throw new GatehouseError('invalid_request', { detail: 'The client_id in the body is not the one of HTTP Basic.' });
    }
    ({ id, secret } = basic);
  } else {
    if (params.client_id === undefined) throw invalidClient('client_secret needs client_id.');
    id = params.client_id;
    secret = params.client_secret!;
  }

  const rules = failureRules(deps);
  const rl = deps.stores.rateLimits;
  const [byIp, byClient] = await Promise.all([rules.ip ? rl.peek(ipKey(request), rules.ip) : null, rl.peek(clientKey(id), rules.client)]);
  if (byIp && !byIp.allowed) throw rateLimited(byIp.retryAfterMs, 'Too many failed client authentications from your network.');
  if (!byClient.allowed) throw rateLimited(byClient.retryAfterMs, 'Too many failed authentications for this client.');

  const now = deps.clock.now();
  const client = CLIENT_ID_RE.test(id) ? await deps.stores.clients.get(id) : null;
  // Hashes the presented secret even for an unknown client: the answer takes as long either way.
  const ok = client !== null ? verifyClientSecret(client, secret, now) : (hashSecret(secret), false);
  if (!ok || client === null) {
    await Promise.all([rl.consume(clientKey(id), rules.client), rules.ip ? rl.consume(ipKey(request), rules.ip) : null]);
    deps.logger.info({ event: 'client_auth.failure', client_known: client !== null, method, ip: clientIp(request) }, 'client authentication failed');
    throw invalidClient();
  }
  // A success clears the client's earlier failures: a write only when there are some.
  if (byClient.consumed > 0) await rl.reset(clientKey(id));
  touch(deps, client, now);
  return { kind: 'confidential', client };
}

const TOUCH_INTERVAL_MS = 60_000;
const lastTouch = new WeakMap<Deps, Map<string, number>>();

/** Records the client's use in the background, at most once a minute per client and process. */
function touch(deps: Deps, client: ClientRecord, now: number): void {
  let seen = lastTouch.get(deps);
  if (!seen) lastTouch.set(deps, (seen = new Map()));
  const last = seen.get(client.clientId);
  if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
  seen.set(client.clientId, now);
  deps.stores.clients.touchLastUsed(client.clientId, now).catch((err: unknown) => {
    deps.logger.warn({ event: 'client.touch_failed', clientId: client.clientId, err }, 'could not record the client\'s last use');
  });
}
