import { KeyObject } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwksCache } from 'jose';
import type { CompactJWSHeaderParameters, CryptoKey, FlattenedJWSInput, JSONWebKeySet, JWKSCacheInput, JWTVerifyGetKey } from 'jose';
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
 * The passport keys, by `kid`. `resolve` is the full lookup (jose's key sets: loads, reloads, picks
 * the one usable key of that `kid` or says why none); `cached` answers synchronously with the key
 * `resolve` last found for a `kid`, as long as the key set it came from is still the current one
 * and fresh (no reload due), else `undefined` (then call `resolve`). Keys are node:crypto
 * `KeyObject`s of the CryptoKeys jose imported: the same key material, usable by `crypto.verify`.
 */
export interface KeySource {
  cached(kid: string): KeyObject | undefined;
  resolve(protectedHeader: CompactJWSHeaderParameters, token: FlattenedJWSInput): Promise<KeyObject>;
}

/** The state of a jose key set that `cached` needs: which key set is current, and whether it is fresh. */
interface KeySetState {
  /** Changes (by identity) whenever the key set is replaced; `undefined` before the first load. */
  generation(): object | undefined;
  fresh(): boolean;
}

/**
 * The key lookup of the verifier: jose's remote key set for a JWKS URL (refetches on an unknown
 * `kid` at most once per cooldown, and when older than `cacheMaxAgeMs`), or a local key set built from
 * an in-process getter with the same refetch rules. A key set that cannot be loaded surfaces as a
 * `PassportError`: `jwks_invalid` when it answered with something that is not a key set, else
 * `jwks_unreachable` (connection refused, timeout, a status other than 200, a getter that threw).
 */
export function createKeySource(options: KeySourceOptions): KeySource {
  const { jwksUrl, jwks } = options;
  if ((jwksUrl === undefined) === (jwks === undefined)) {
    throw new TypeError('createPassportVerifier needs exactly one of jwksUrl or jwks');
  }
  const [inner, state] = jwksUrl !== undefined ? remoteKeySet(new URL(jwksUrl), options) : localGetterKeySet(jwks as () => JSONWebKeySet | Promise<JSONWebKeySet>, options);

  /** kid -> the key `resolve` found for it in key set `generation`; emptied when the key set changes. */
  const known = new Map<string, KeyObject>();
  let knownGeneration: object | undefined;
  const keyObjects = new WeakMap<object, KeyObject>();

  return {
    cached(kid) {
      // A key set replaced since (a reload) or due for a reload: let `resolve` go through jose.
      if (knownGeneration === undefined || state.generation() !== knownGeneration || !state.fresh()) return undefined;
      return known.get(kid);
    },
    async resolve(protectedHeader, token) {
      // Read before the lookup: a reload during it leaves the key tagged with the old key set (unused).
      const generation = state.generation();
      let key: Awaited<ReturnType<JWTVerifyGetKey>>;
      try {
        key = await inner(protectedHeader, token);
      } catch (err) {
        if (isTokenKeyError(err)) throw err;
        if (isInvalidKeySet(err)) throw new PassportError('jwks_invalid', 'the passport key set is not a valid JSON Web Key Set', { cause: err });
        throw new PassportError('jwks_unreachable', 'the passport key set could not be fetched', { cause: err });
      }
      let keyObject = keyObjects.get(key);
      if (keyObject === undefined) {
        keyObject = key instanceof KeyObject ? key : KeyObject.from(key as CryptoKey);
        keyObjects.set(key, keyObject);
      }
      const kid = protectedHeader.kid;
      if (generation !== undefined && typeof kid === 'string') {
        if (generation !== knownGeneration) {
          known.clear();
          knownGeneration = generation;
        }
        known.set(kid, keyObject);
      }
      return keyObject;
    },
  };
}

/** jose's remote key set, and its state read through the `jwksCache` object jose updates on each fetch. */
function remoteKeySet(url: URL, options: Pick<KeySourceOptions, 'cooldownMs' | 'cacheMaxAgeMs'>): [JWTVerifyGetKey, KeySetState] {
  const shared: { jwks?: JSONWebKeySet; uat?: number } = {};
  const remote = createRemoteJWKSet(url, {
    cooldownDuration: options.cooldownMs,
    cacheMaxAge: options.cacheMaxAgeMs,
    [jwksCache]: shared as JWKSCacheInput,
  });
  return [remote, { generation: () => shared.jwks, fresh: () => remote.fresh }];
}

type KeySet = ReturnType<typeof createLocalJWKSet>;

/**
 * A key set fed by an in-process getter. The jose key set is rebuilt only when the getter returns a
 * different object; on an unknown `kid` the getter is asked again at most once per cooldown.
 */
function localGetterKeySet(
  getter: () => JSONWebKeySet | Promise<JSONWebKeySet>,
  options: Pick<KeySourceOptions, 'cooldownMs' | 'cacheMaxAgeMs' | 'now'>,
): [JWTVerifyGetKey, KeySetState] {
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

  const lookup: JWTVerifyGetKey = async (protectedHeader, token) => {
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
  // `current` is replaced exactly when the jose key set is (the getter returned another object).
  return [lookup, { generation: () => current, fresh: () => current !== undefined && options.now() - loadedAt < options.cacheMaxAgeMs }];
}
