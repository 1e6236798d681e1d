import { createLocalJWKSet, createRemoteJWKSet, errors } from 'jose';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { PassportError } from './errors.js';

export interface KeySourceOptions {
  jwksUrl?: string | URL | undefined;
  jwks?: (() => JSONWebKeySet | Promise<JSONWebKeySet>) | undefined;
  cooldownMs: number;
  cacheMaxAgeMs: number;
  now: () => number;
}

/**
 * Errors that mean "this token names no usable key" (the token's fault). Anything else thrown while
 * looking up a key means the key set could not be loaded (network, bad JSON, a failing getter).
 */
function isTokenKeyError(err: unknown): boolean {
  return (
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys ||
    err instanceof errors.JOSENotSupported ||
    err instanceof errors.JOSEAlgNotAllowed
  );
}

/**
 * A key set that answered but is not one: jose's `JWKSInvalid`, or a body that is not JSON (jose
 * reports that as a generic error whose cause is the parse error).
 */
function isInvalidKeySet(err: unknown): boolean {
  return (
    err instanceof errors.JWKSInvalid ||
    err instanceof errors.JWKInvalid ||
    (err instanceof errors.JOSEError && err.code === errors.JOSEError.code && err.cause instanceof SyntaxError)
  );
}

/**
 * The key lookup handed to `jwtVerify`: jose's remote key set for a JWKS URL (refetches on an unknown
 * `kid` at most once per cooldown, and when older than `cacheMaxAgeMs`), or a local key set built from
 * an in-process getter with the same refetch rules. A key set that cannot be loaded surfaces as a
 * `PassportError`: `jwks_invalid` when it answered with something that is not a key set, else
 * `jwks_unreachable` (connection refused, timeout, a status other than 200, a getter that threw).
 */
export function createKeySource(options: KeySourceOptions): JWTVerifyGetKey {
  const { jwksUrl, jwks } = options;
  if ((jwksUrl === undefined) === (jwks === undefined)) {
    throw new TypeError('createPassportVerifier needs exactly one of jwksUrl or jwks');
  }
  const inner: JWTVerifyGetKey =
    jwksUrl !== undefined
      ? createRemoteJWKSet(new URL(jwksUrl), {
          cooldownDuration: options.cooldownMs,
          cacheMaxAge: options.cacheMaxAgeMs,
        })
      : localGetterKeySet(jwks as () => JSONWebKeySet | Promise<JSONWebKeySet>, options);

  return async (protectedHeader, token) => {
    try {
      return await inner(protectedHeader, token);
    } catch (err) {
      if (isTokenKeyError(err)) throw err;
      if (isInvalidKeySet(err)) throw new PassportError('jwks_invalid', 'the passport key set is not a valid JSON Web Key Set', { cause: err });
      throw new PassportError('jwks_unreachable', 'the passport key set could not be fetched', { cause: err });
    }
  };
}

type KeySet = ReturnType<typeof createLocalJWKSet>;

/**
 * A key set fed by an in-process getter. The jose key set is rebuilt only when the getter returns a
 * different object; on an unknown `kid` the getter is asked again at most once per cooldown.
 */
function localGetterKeySet(
  getter: () => JSONWebKeySet | Promise<JSONWebKeySet>,
  options: Pick<KeySourceOptions, 'cooldownMs' | 'cacheMaxAgeMs' | 'now'>,
): JWTVerifyGetKey {
  let current: { jwks: JSONWebKeySet; keySet: KeySet } | undefined;
  let loadedAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<KeySet> | undefined;

  const load = (): Promise<KeySet> => {
    pending ??= (async () => {
      const jwks = await getter();
      if (current === undefined || current.jwks !== jwks) current = { jwks, keySet: createLocalJWKSet(jwks) };
      loadedAt = options.now();
      return current.keySet;
    })().finally(() => {
      pending = undefined;
    });
    return pending;
  };

  return async (protectedHeader, token) => {
    const age = options.now() - loadedAt;
    const keySet = current === undefined || age >= options.cacheMaxAgeMs ? await load() : current.keySet;
    try {
      return await keySet(protectedHeader, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey && options.now() - loadedAt >= options.cooldownMs) {
        return (await load())(protectedHeader, token);
      }
      throw err;
    }
  };
}
