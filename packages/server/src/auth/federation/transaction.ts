import { EncryptJWT, jwtDecrypt } from 'jose';
import { cookieNames } from '../../config/cookie-names.js';
import { isHttps } from '../../config/issuer.js';
import type { GatehouseConfig } from '../../config/types.js';
import { GatehouseError } from '../../errors/index.js';
import type { Clock } from '../../util/clock.js';
import type { ProviderTransaction } from './identity.js';

/**
 * The sign-in transaction of a federation sign-in, kept in the browser between
 * `/auth/federation/:provider/start` and its callback: an encrypted JWT (JWE, `dir` +
 * `A256GCM`, so it is confidential and tamper-evident at once) under a key derived from the
 * master key (`deriveFederationTransactionKey`). Any instance holding the master key can open
 * it, so a callback that lands on another instance works; nothing is stored.
 *
 * It holds the provider's id, the `ProviderTransaction` (state, nonce, PKCE verifier), where to
 * go afterwards (`next`, already checked same-origin by the caller), the mode (a sign-in, or a
 * link into the signed-in account `userId`) and when it was issued; it expires after 10 min.
 * A cookie that was tampered with, expired, sealed by another key or started for another
 * provider is refused with `federation_failed` (start again).
 */

/** How long a started sign-in may take (seconds). */
export const FEDERATION_TRANSACTION_TTL_SEC = 600;

export type FederationMode = { readonly kind: 'signin' } | { readonly kind: 'link'; readonly userId: string };

export interface FederationTransaction {
  /** The configured provider's id. */
  readonly provider: string;
  readonly transaction: ProviderTransaction;
  /** A same-origin path to go to afterwards (checked by the start endpoint before sealing). */
  readonly next: string;
  readonly mode: FederationMode;
  /** Milliseconds since the epoch. */
  readonly issuedAt: number;
}

/**
 * The transaction cookie's name: `cookieNames(config).federation` (`gatehouse_federation`; on
 * https `__Host-gatehouse_federation`: Secure, Path=/, no Domain, so no sibling subdomain or
 * plain-http page can plant one, which would be login CSRF by cookie tossing). The gateway
 * passes it to the auth service's routes only. One per browser: a second start (another tab)
 * replaces the first, whose callback is then refused (start again).
 */
export function federationCookieName(config: GatehouseConfig): string {
  return cookieNames(config).federation;
}

/**
 * The attributes for `reply.setCookie(name, sealed, ...)`: HttpOnly; SameSite=Lax so the
 * top-level GET of the provider's redirect back carries it; Secure on https; as long as the
 * transaction. Clear it (`maxAge: 0`) once the callback has read it.
 */
export function federationCookieOptions(config: GatehouseConfig): {
  readonly path: '/';
  readonly httpOnly: true;
  readonly sameSite: 'lax';
  readonly secure: boolean;
  readonly maxAge: number;
} {
  return { path: '/', httpOnly: true, sameSite: 'lax', secure: isHttps(config), maxAge: FEDERATION_TRANSACTION_TTL_SEC };
}

/** The JWE's content type, so no other JWE under a key derived the same way passes as a transaction. */
const TYP = 'gatehouse-federation+jwt';

/** Seals `tx` (its `issuedAt` is taken from `clock`) for the cookie. `key`: 32 bytes from `deriveFederationTransactionKey`. */
export async function sealTransaction(key: Uint8Array, tx: Omit<FederationTransaction, 'issuedAt'>, clock: Clock): Promise<string> {
  const iat = Math.floor(clock.now() / 1000);
  return new EncryptJWT({
    prv: tx.provider,
    st: tx.transaction.state,
    ...(tx.transaction.nonce === undefined ? {} : { nn: tx.transaction.nonce }),
    cv: tx.transaction.codeVerifier,
    nxt: tx.next,
    mode: tx.mode.kind,
    ...(tx.mode.kind === 'link' ? { uid: tx.mode.userId } : {}),
  })
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: TYP })
    .setIssuedAt(iat)
    .setExpirationTime(iat + FEDERATION_TRANSACTION_TTL_SEC)
    .encrypt(key);
}

function refused(why: string, providerName: string): GatehouseError {
  // `why` goes to the log (no secret in it); the person is told what to do.
  return new GatehouseError('federation_failed', {
    detail: `The sign-in with ${providerName} could not be matched to one started in this browser, or it took longer than 10 minutes. Start the sign-in again from the sign-in page.`,
    cause: new Error(`federation transaction refused: ${why}`),
  });
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * Opens the cookie of a callback for `providerId`. Throws `federation_failed` when it is missing,
 * tampered with, sealed under another key, expired (10 min, checked against `clock`) or for
 * another provider (mix-up: provider A's transaction must not complete at B's callback).
 */
export async function unsealTransaction(
  key: Uint8Array,
  sealed: string | undefined,
  provider: { readonly id: string; readonly name: string },
  clock: Clock,
): Promise<FederationTransaction> {
  if (sealed === undefined || sealed === '') throw refused('no transaction cookie', provider.name);
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtDecrypt(sealed, key, {
      currentDate: new Date(clock.now()),
      clockTolerance: 0,
      typ: TYP,
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
      requiredClaims: ['iat', 'exp'],
    }));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw refused(code === 'ERR_JWT_EXPIRED' ? 'expired' : `cannot be opened (${typeof code === 'string' ? code : 'malformed'})`, provider.name);
  }
  const { prv, st, nn, cv, nxt, mode, uid, iat } = payload;
  if (prv !== provider.id) throw refused('started for another provider', provider.name);
  if (!isString(st) || !isString(cv) || !isString(nxt) || (nn !== undefined && !isString(nn)) || typeof iat !== 'number') {
    throw refused('malformed', provider.name);
  }
  let parsedMode: FederationMode;
  if (mode === 'signin') parsedMode = { kind: 'signin' };
  else if (mode === 'link' && isString(uid)) parsedMode = { kind: 'link', userId: uid };
  else throw refused('malformed mode', provider.name);
  return {
    provider: prv,
    transaction: { state: st, codeVerifier: cv, ...(nn === undefined ? {} : { nonce: nn }) },
    next: nxt,
    mode: parsedMode,
    issuedAt: iat * 1000,
  };
}
