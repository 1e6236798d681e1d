import { isRevocationEvent, type RevocationEvent } from '../stores/types.js';

/**
 * What the auth service and the gateways agree on about revocations: the header an auth
 * service answer names the revocations it took in (written by `auth/revocation-receipt.ts`, read by
 * the gateway before it relays the answer) and when a sign-out-all ends a session.
 */

/**
 * The auth service's answer header that lists the revocations a request took (JSON array of
 * RevocationEvent). The gateway that proxied the request reads it from the auth service's 2xx
 * answers only, applies it to its own revocation set before it relays the answer, and never
 * relays the header (strip.ts), so the credential is refused on that gateway from the very next
 * request, whatever the state of Redis (issue 11 item 17). Any other upstream's header of that
 * name is dropped unread.
 */
export const REVOKED_HEADER = 'x-gatehouse-revoked';

/** Most events one answer names (a sign-out-all of many devices): the rest reach the gateway through the feed. */
export const MAX_REVOKED_EVENTS = 64;

/** The events of a REVOKED_HEADER value; malformed input gives none. */
export function parseRevokedHeader(value: string): RevocationEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.slice(0, MAX_REVOKED_EVENTS).filter(isRevocationEvent);
}

/**
 * Whether a session created at `createdAtMs` started before a not-before time (both epoch ms),
 * on the gateways and in the store alike. In ms, not whole seconds like access tokens' `iat`: a
 * session signed in during the same second, before a sign-out-all taken while the store was
 * away, ends too (no sign-in can follow it in that second: sign-in needs the store).
 */
export function startedBefore(createdAtMs: number, notBeforeMs: number): boolean {
  return createdAtMs < notBeforeMs;
}
