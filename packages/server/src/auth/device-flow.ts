import { randomInt } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { Deps } from '../context.js';
import { GatehouseError } from '../errors/index.js';
import type { ClientGrant, ClientRecord } from '../stores/types.js';
import { invalidClient, type TokenClient } from './client-auth.js';
import { clientIp, ipBucket } from './client-ip.js';
import { rateLimited } from './rate-limit.js';

/**
 * The device authorization grant's shared pieces (RFC 8628, issue 14 §2): user codes, which
 * clients may use it, the polling clock, and the limits on guessing user codes. The endpoints
 * are auth/endpoints/device-*.ts, the grant auth/grants/device-code.ts.
 */

/** 20 consonants without look-alikes (no vowels: no words; RFC 8628 §6.1): 20^8 ≈ 2.56e10 user codes. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;

/** A new user code, normalised (8 letters, no dash), each letter from the CSPRNG. */
export function generateUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET.charAt(randomInt(USER_CODE_ALPHABET.length));
  return code;
}

/** `BCDFGHJK` -> `BCDF-GHJK`, as people see and type it. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * A user code as typed -> its normalised form: case-insensitive, dashes and spaces ignored;
 * null when it cannot be a user code (wrong length or a letter outside the alphabet).
 */
export function normaliseUserCode(typed: string): string | null {
  if (typed.length > 32) return null;
  const code = typed.replace(/[\s-]/g, '').toUpperCase();
  if (code.length !== USER_CODE_LENGTH) return null;
  for (const ch of code) if (!USER_CODE_ALPHABET.includes(ch)) return null;
  return code;
}

/**
 * The registered client of a device-flow request (`device_code`, or the `refresh_token` of a
 * device session): a public client by its client_id alone, a confidential one only with its
 * secret (authenticateTokenClient did that); the first-party client has no device flow.
 */
export async function deviceFlowClient(deps: Deps, client: TokenClient, grant: ClientGrant): Promise<ClientRecord> {
  let record: ClientRecord;
  if (client.kind === 'first_party') {
    throw new GatehouseError('invalid_request', { detail: 'Send the client_id of a client registered with "gatehouse clients add <id> --type public --grants device_code,refresh_token".' });
  } else if (client.kind === 'unauthenticated') {
    const known = await deps.stores.clients.get(client.clientId);
    if (known === null) throw invalidClient('Unknown client: register it with "gatehouse clients add".');
    // A confidential client is known by its secret only, here as at every grant.
    if (known.type !== 'public') throw invalidClient('This client is confidential: authenticate with its secret (HTTP Basic or client_secret).');
    record = known;
  } else {
    record = client.client;
  }
  if (!record.grants.includes(grant)) {
    throw new GatehouseError('unauthorized_client', { detail: `This client is not registered for ${grant === 'device_code' ? 'the device code grant' : grant}: add it with --grants.` });
  }
  return record;
}

/** How much earlier than `interval` a poll may come before it is a slow_down: network jitter between two polls sent on time. */
export const POLL_JITTER_MS = 500;

/**
 * When each device code was last polled, in this process's memory only (a poll that changes
 * nothing writes nothing to a store): keyed by the device code's hash, forgotten after the
 * longest code lifetime. Another instance's polls are not seen here; a slow_down, which is
 * stored, is (DeviceCodeRecord.lastPollAt).
 */
const lastPolls = new WeakMap<Deps, LRUCache<string, number>>();

function pollsOf(deps: Deps): LRUCache<string, number> {
  let polls = lastPolls.get(deps);
  if (!polls) {
    polls = new LRUCache<string, number>({ max: 100_000, ttl: deps.config.device.codeTtlSec * 1000, ttlAutopurge: false });
    lastPolls.set(deps, polls);
  }
  return polls;
}

/**
 * Records a poll of `hash` at `now` (in memory) and says whether it came too soon: less than
 * `intervalSec` (minus POLL_JITTER_MS) after the previous one seen here or stored.
 */
export function pollTooSoon(deps: Deps, hash: string, now: number, intervalSec: number, storedLastPoll: number | null): boolean {
  const polls = pollsOf(deps);
  const seen = polls.get(hash);
  const last = Math.max(seen ?? -Infinity, storedLastPoll ?? -Infinity);
  polls.set(hash, now);
  return now - last < intervalSec * 1000 - POLL_JITTER_MS;
}

/** Forgets a code's polls (once it is redeemed, denied or expired). */
export function forgetPolls(deps: Deps, hash: string): void {
  pollsOf(deps).delete(hash);
}

/** At most `device.authorizePerIpPerMinute` new device codes a minute per client IP (each is a stored row); 429 past it. */
export async function limitAuthorizePerIp(deps: Deps, request: FastifyRequest): Promise<void> {
  const perMinute = deps.config.device.authorizePerIpPerMinute;
  if (perMinute <= 0) return;
  const r = await deps.stores.rateLimits.consume(`device-authorize:ip:${ipBucket(clientIp(request))}`, { points: perMinute, durationSec: 60 });
  if (r.allowed) return;
  deps.logger.info({ event: 'device.authorize_limited', ip: clientIp(request) }, 'too many device codes asked for from one address');
  throw rateLimited(r.retryAfterMs, 'Too many device codes were asked for from your network.');
}

const perIpKey = (request: FastifyRequest): string => `device-user-code:ip:${ipBucket(clientIp(request))}`;
const GLOBAL_KEY = 'device-user-code:all';

/**
 * Runs `check` (a look-up of a typed user code: null when it matches no pending request) under
 * the guessing limits: a point is reserved per client IP and globally before the look-up (so
 * parallel guesses cannot outrun the limits) and given back when the code was right, so only
 * wrong, expired or used codes count. Past either limit: 429 before any look-up.
 */
export async function underUserCodeLimits<T>(deps: Deps, request: FastifyRequest, check: () => Promise<T | null>): Promise<T | null> {
  const cfg = deps.config.device;
  const rl = deps.stores.rateLimits;
  const ipRule = { points: cfg.userCodeFailuresPerIpPerMinute, durationSec: 60 };
  const globalRule = { points: cfg.userCodeFailuresPerMinute, durationSec: 60 };
  const byIp = await rl.consume(perIpKey(request), ipRule);
  if (!byIp.allowed) {
    deps.logger.info({ event: 'device.user_code_limited', scope: 'ip', ip: clientIp(request) }, 'too many wrong user codes from one address');
    throw rateLimited(byIp.retryAfterMs, 'Too many wrong codes from your network.');
  }
  const all = await rl.consume(GLOBAL_KEY, globalRule);
  if (!all.allowed) {
    await rl.refund(perIpKey(request), ipRule);
    deps.logger.warn({ event: 'device.user_code_limited', scope: 'global', ip: clientIp(request) }, 'too many wrong user codes overall: device approval paused');
    throw rateLimited(all.retryAfterMs, 'Too many wrong codes were entered recently.');
  }
  let found: T | null;
  try {
    found = await check();
  } catch (err) {
    // No answer about the code: the attempt does not count.
    await Promise.all([rl.refund(perIpKey(request), ipRule), rl.refund(GLOBAL_KEY, globalRule)]);
    throw err;
  }
  if (found !== null) await Promise.all([rl.refund(perIpKey(request), ipRule), rl.refund(GLOBAL_KEY, globalRule)]);
  return found;
}

/** The one answer for a user code that is wrong, expired, decided or used: no hint about other codes. */
export function invalidUserCode(): GatehouseError {
  return new GatehouseError('invalid_user_code', {
    detail: 'This code is wrong, expired or already used. Check the code on your device\'s screen and type it again, or start again on the device to get a new one.',
  });
}

/** The body of the /device page's endpoints (lookup, approve, deny): the user code as typed. */
export const userCodeBodySchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['user_code'],
    properties: { user_code: { type: 'string', minLength: 1, maxLength: 32 } },
  },
} as const;

export interface UserCodeBody {
  user_code: string;
}
