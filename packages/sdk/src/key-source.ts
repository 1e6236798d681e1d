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
 * `resolve` found for a `kid` in the current key set, as long as that set is fresh (no reload
 * due), else `undefined` (then call `resolve`): a key withdrawn by a reload is never answered.
 * Keys are node:crypto `KeyObject`s of the CryptoKeys jose imported: the same key material,
 * usable by `crypto.verify`.
 */
export interface KeySource {
  cached(kid: string): KeyObject | undefined;
  resolve(protectedHeader: CompactJWSHeaderParameters, token: FlattenedJWSInput): Promise<KeyObject>;
}

/** What `cached` needs of a jose key set: which key set is current, whether it is fresh, and its keys. */
interface KeySetState {
  /** A new object whenever the key set is replaced by another; `undefined` before the first load. */
  generation(): object | undefined;
  /** Loaded and not due for a reload (`cacheMaxAgeMs`). */
  fresh(): boolean;
  /** The jose lookup of exactly the key set of `generation`, loading nothing. */
  keySetOf(generation: object): JWTVerifyGetKey;
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

  /** Per key set (generation): kid -> its key, for the kids `resolve` was asked about. */
  const known = new WeakMap<object, Map<string, KeyObject>>();
  const keyObjects = new WeakMap<object, KeyObject>();
  const keyObjectOf = (key: Awaited<ReturnType<JWTVerifyGetKey>>): KeyObject => {
    let keyObject = keyObjects.get(key);
    if (keyObject === undefined) {
      keyObject = key instanceof KeyObject ? key : KeyObject.from(key as CryptoKey);
      keyObjects.set(key, keyObject);
    }
    return keyObject;
  };

  /** Remembers the key of `kid` in the current key set, looked up in that very set (a reload may have raced the lookup). */
  async function remember(kid: string, protectedHeader: CompactJWSHeaderParameters, token: FlattenedJWSInput): Promise<void> {
    const generation = state.generation();
    if (generation === undefined) return;
    let key: Awaited<ReturnType<JWTVerifyGetKey>>;
    try {
      key = await state.keySetOf(generation)(protectedHeader, token);
    } catch {
      return; // that set does not hold it after all: nothing to remember
    }
    let keys = known.get(generation);
    if (keys === undefined) known.set(generation, (keys = new Map()));
    keys.set(kid, keyObjectOf(key));
  }

  return {
    cached(kid) {
      // Before the first load, or a key set due for a reload: let `resolve` go through jose.
      const generation = state.generation();
      if (generation === undefined || !state.fresh()) return undefined;
      return known.get(generation)?.get(kid);
    },
    async resolve(protectedHeader, token) {
      let key: Awaited<ReturnType<JWTVerifyGetKey>>;
      try {
        key = await inner(protectedHeader, token);
      } catch (err) {
        if (isTokenKeyError(err)) throw err;
        if (isInvalidKeySet(err)) throw new PassportError('jwks_invalid', 'the passport key set is not a valid JSON Web Key Set', { cause: err });
        throw new PassportError('jwks_unreachable', 'the passport key set could not be fetched', { cause: err });
      }
      const kid = protectedHeader.kid;
      if (typeof kid === 'string') await remember(kid, protectedHeader, token);
      return keyObjectOf(key);
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
  // jose sets `shared.jwks` to each fetched key set (a new object) as it switches to it.
  const keySets = new WeakMap<object, JWTVerifyGetKey>();
  return [
    remote,
    {
      generation: () => shared.jwks,
      fresh: () => remote.fresh,
      keySetOf(generation) {
        let keySet = keySets.get(generation);
        if (keySet === undefined) keySets.set(generation, (keySet = createLocalJWKSet(generation as JSONWebKeySet)));
        return keySet;
      },
    },
  ];
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
  return [
    lookup,
    {
      generation: () => current,
      fresh: () => current !== undefined && options.now() - loadedAt < options.cacheMaxAgeMs,
      keySetOf: (generation) => (generation as { keySet: KeySet }).keySet,
    },
  ];
}
