import type { FastifyRequest } from 'fastify';
import { createChallenge, extractParams, verifySolution } from 'altcha-lib/v1';
import type { Challenge, Payload } from 'altcha-lib/v1/types';
import type { Deps } from '../context.js';
import { GatehouseError } from '../errors/index.js';
import { clientIp, ipBucket } from './client-ip.js';

/**
 * Proof-of-work for sign-up (ALTCHA v1 format, self-hosted: `altcha-lib` here, solved in the
 * browser with Web Crypto). `GET /auth/challenge` hands out a signed challenge; the sign-up
 * body carries the solution as `challenge` when one is required: always with
 * `signup.challenge: "pow"`, or for `signup.autoChallenge.durationSec` after an IP (or everyone)
 * sent more sign-ups a minute than `signup.autoChallenge.perIpPerMinute` (`globalPerMinute`).
 * A solution is good once (its signature is kept in the rate-limit store until it expires).
 */

const ALGORITHM = 'SHA-256';

export const CHALLENGE_HOW_TO =
  'Solve a proof-of-work challenge: GET /auth/challenge, find `number` such that SHA-256(salt + number) equals `challenge` ' +
  '(hex; number from 0 to maxnumber), and send base64(JSON {algorithm, challenge, number, salt, signature}) as the field `challenge` ' +
  'of this sign-up. A challenge is good once, for a limited time.';

function hmacKey(deps: Deps): string {
  return Buffer.from(deps.challengeKey).toString('hex');
}

/** A new challenge, expiring `signup.challengeTtlSec` from now. */
export async function newChallenge(deps: Deps): Promise<Challenge & { maxnumber: number }> {
  const cfg = deps.config.signup;
  const c = await createChallenge({
    algorithm: ALGORITHM,
    hmacKey: hmacKey(deps),
    maxnumber: cfg.challengeMaxNumber,
    expires: new Date(deps.clock.now() + cfg.challengeTtlSec * 1000),
  });
  return { ...c, maxnumber: c.maxnumber ?? cfg.challengeMaxNumber };
}

const DURATION_MINUTE = 60;

/**
 * Counts this sign-up attempt towards the automatic switch and says whether this request must
 * carry a solved challenge.
 */
export async function challengeRequired(deps: Deps, request: FastifyRequest): Promise<boolean> {
  const cfg = deps.config.signup;
  const auto = cfg.autoChallenge;
  const rl = deps.stores.rateLimits;
  const onRule = { points: 1, durationSec: auto.durationSec };
  const bucket = ipBucket(clientIp(request));
  const scopes: Array<{ name: 'ip' | 'global'; count: string; flag: string; perMinute: number }> = [
    { name: 'ip', count: `signup:attempts:ip:${bucket}`, flag: `signup:pow-on:ip:${bucket}`, perMinute: auto.perIpPerMinute },
    { name: 'global', count: 'signup:attempts:global', flag: 'signup:pow-on:global', perMinute: auto.globalPerMinute },
  ];
  let required = cfg.challenge === 'pow';
  for (const s of scopes) {
    if (s.perMinute <= 0) continue;
    const counted = await rl.consume(s.count, { points: s.perMinute, durationSec: DURATION_MINUTE });
    if (!counted.allowed) {
      // Switch on (once: the window of the flag runs from the first switch).
      const flag = await rl.consume(s.flag, onRule);
      if (flag.consumed === 1) {
        deps.logger.warn({ event: 'signup.challenge_on', scope: s.name, ip: s.name === 'ip' ? clientIp(request) : undefined, forSec: auto.durationSec }, 'sign-up challenge switched on');
      }
      required = true;
    } else if ((await rl.peek(s.flag, onRule)).consumed > 0) {
      required = true;
    }
  }
  return required;
}

function invalid(detail: string): GatehouseError {
  return new GatehouseError('invalid_challenge', { detail: `${detail} Fetch a new one from GET /auth/challenge.` });
}

function decode(value: string): Payload | null {
  if (value.length > 2048) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const p = parsed as Record<string, unknown>;
  const str = (k: string): k is string => typeof p[k] === 'string' && (p[k] as string).length > 0 && (p[k] as string).length <= 512;
  if (!str('algorithm') || !str('challenge') || !str('salt') || !str('signature')) return null;
  if (typeof p.number !== 'number' || !Number.isSafeInteger(p.number) || p.number < 0) return null;
  return { algorithm: p.algorithm as Payload['algorithm'], challenge: p.challenge as string, number: p.number, salt: p.salt as string, signature: p.signature as string };
}

/**
 * Checks a solution: well-formed, SHA-256, signed with our key, solved, not expired (by the
 * injected clock), and not used before. Throws 400 `invalid_challenge` otherwise.
 */
export async function verifyChallenge(deps: Deps, value: string): Promise<void> {
  const payload = decode(value);
  if (!payload) throw invalid('The challenge solution is not base64 JSON {algorithm, challenge, number, salt, signature}.');
  if (payload.algorithm !== ALGORITHM) throw invalid('The challenge algorithm must be SHA-256.');
  const expires = Number(extractParams(payload).expires);
  const nowSec = deps.clock.now() / 1000;
  if (!Number.isFinite(expires)) throw invalid('The challenge solution is wrong.');
  if (!(await verifySolution(payload, hmacKey(deps), false))) throw invalid('The challenge solution is wrong.');
  if (expires <= nowSec) throw invalid('The challenge has expired.');
  // Good once: remember the signature for a whole challenge lifetime from its first use, which
  // outlasts its expiry. One fixed rule per key (a key is used with one rule only).
  const used = await deps.stores.rateLimits.consume(`signup:challenge-used:${payload.signature}`, {
    points: 1,
    durationSec: deps.config.signup.challengeTtlSec,
  });
  if (!used.allowed) throw invalid('The challenge was used already.');
}
