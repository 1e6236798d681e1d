import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createPassportVerifier, PassportError, PASSPORT_HEADER, type PassportClaims, type PassportVerifier } from '@gatehouse/sdk';
import type { Deps } from '../context.js';
import { issuerOf } from '../config/issuer.js';
import { GatehouseError } from '../errors/index.js';
import type { UserRecord } from '../stores/types.js';
import { AUTH_SERVICE as AUTH_AUDIENCE } from '../credentials/auth-service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The caller's verified passport, set by the passport hook (`installPassport`) before the
     * handler of every non-public route; null on a public route. Read it with `passportOf`.
     */
    passport: PassportClaims | null;
  }
}

export type PassportHook = (request: FastifyRequest) => Promise<void>;

function unauthenticated(detail: string, cause?: unknown): GatehouseError {
  return new GatehouseError('unauthenticated', { detail, cause, headers: { 'www-authenticate': 'Bearer realm="gatehouse"' } });
}

/**
 * A passport verifier for `audience` over this process's own keys (the SDK's checks: EdDSA only,
 * `typ`, `iss`, `aud`, times, claim shapes, `act`). The key set is local, so an unknown kid (a key
 * rotated in by another process) re-reads the key store at once instead of waiting out a
 * network-style cooldown. Used for the auth service's own passports and for token exchange's
 * subject passports.
 */
export function keyringPassportVerifier(deps: Deps, audience: string): PassportVerifier {
  return createPassportVerifier({
    jwks: async () => {
      await deps.keyring.reload().catch((err: unknown) => deps.logger.warn({ err }, 'could not re-read signing keys; using the ones in memory'));
      return deps.keyring.jwks();
    },
    jwksCooldownMs: 1_000,
    issuer: issuerOf(deps.config),
    audience,
    now: () => deps.clock.now(),
  });
}

/**
 * A preHandler that identifies the caller by the gateway's `x-passport` alone (this service
 * never sees the session cookie or the Authorization header) and sets `request.passport`.
 * 401 `unauthenticated` without a valid one; 503 when the keys cannot be read. Declares the
 * `passport` request decoration (null until the hook sets it) on `app`.
 */
export function installPassport(app: FastifyInstance, deps: Deps): PassportHook {
  app.decorateRequest('passport', null);
  const verifier = keyringPassportVerifier(deps, AUTH_AUDIENCE);
  return async (request) => {
    const header = request.headers[PASSPORT_HEADER];
    if (typeof header !== 'string' || header === '') throw unauthenticated('Sign in first: the request carries no credential.');
    try {
      const claims = await verifier.verify(header);
      request.passport = claims;
    } catch (err) {
      if (err instanceof PassportError && err.status === 503) {
        throw new GatehouseError('unavailable', { detail: 'The signing keys are unavailable; try again shortly.', cause: err });
      }
      throw unauthenticated('The credential is not valid.', err);
    }
  };
}

/** The verified passport of a request that went through the passport hook. */
export function passportOf(request: FastifyRequest): PassportClaims {
  const claims = request.passport;
  if (claims === null) throw unauthenticated('Sign in first: the request carries no credential.');
  return claims;
}

/** The caller's account, read from the store (not from the passport); 401 when it no longer exists. */
export async function accountOf(deps: Deps, passport: PassportClaims): Promise<UserRecord> {
  const user = await deps.stores.users.findById(passport.sub);
  if (!user) throw unauthenticated('The account no longer exists.');
  return user;
}
