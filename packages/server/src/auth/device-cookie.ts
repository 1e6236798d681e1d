import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../context.js';
import { cookieNames } from '../config/cookie-names.js';
import { isHttps } from '../config/issuer.js';
import { safeEqual } from '../crypto/secrets.js';

/**
 * OWASP "slow down online guessing with device cookies": after a successful sign-in the browser
 * holds a signed cookie saying "this browser signed in to account X before". A sign-in that
 * presents one for the account it names is exempt from the per-account lock (it has its own
 * small budget), so an attacker guessing from elsewhere cannot lock the real user out.
 *
 * Value: up to 5 entries joined by `~`, newest first, one per account signed in from this
 * browser; an entry is `<nonce>.<issued-at, epoch s>.<mac>` with
 * mac = HMAC-SHA256(deviceCookieKey, "gatehouse-device-v1" NUL canonical-username NUL nonce NUL iat).
 * The entry does not show which account it is for: it is verified against the username a
 * sign-in names.
 */
/** The name on http; on https it is `__Secure-gatehouse_known_device` (`cookieNames(config)`). */
export const KNOWN_DEVICE_COOKIE = 'gatehouse_known_device';
export const KNOWN_DEVICE_MAX_AGE_SEC = 365 * 24 * 3600;
const MAX_ENTRIES = 5;
/** Clock skew accepted for an issued-at in the future (several instances). */
const FUTURE_SKEW_SEC = 300;
const ENTRY_RE = /^([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

interface Entry {
  nonce: string;
  iat: number;
  raw: string;
}

function mac(key: Uint8Array, canonical: string, nonce: string, iat: number): string {
  return createHmac('sha256', key).update(`gatehouse-device-v1\0${canonical}\0${nonce}\0${iat}`, 'utf8').digest('base64url');
}

function nowSec(deps: Deps): number {
  return Math.floor(deps.clock.now() / 1000);
}

/** Well-formed entries of the cookie whose issued-at is within a year (not checked against any account). */
function entries(deps: Deps, request: FastifyRequest): Array<Entry & { mac: string }> {
  const value = request.cookies[cookieNames(deps.config).knownDevice];
  if (typeof value !== 'string' || value.length > 1024) return [];
  const now = nowSec(deps);
  const out: Array<Entry & { mac: string }> = [];
  for (const raw of value.split('~').slice(0, MAX_ENTRIES)) {
    const m = ENTRY_RE.exec(raw);
    if (!m) continue;
    const iat = Number(m[2]);
    if (iat > now + FUTURE_SKEW_SEC || now - iat > KNOWN_DEVICE_MAX_AGE_SEC) continue;
    out.push({ nonce: m[1]!, iat, mac: m[3]!, raw });
  }
  return out;
}

/**
 * The device nonce when the request carries a valid device cookie entry for this canonical
 * username (right key, right account, issued less than a year ago); otherwise null.
 */
export function knownDeviceFor(deps: Deps, request: FastifyRequest, canonical: string): { nonce: string } | null {
  for (const e of entries(deps, request)) {
    if (safeEqual(e.mac, mac(deps.deviceCookieKey, canonical, e.nonce, e.iat))) return { nonce: e.nonce };
  }
  return null;
}

/**
 * After a successful sign-in: (re)issues this account's entry (keeping its nonce when the
 * browser had one, so its budget stays the same), keeps up to 4 other accounts' entries.
 */
export function setKnownDeviceCookie(reply: FastifyReply, deps: Deps, request: FastifyRequest, canonical: string): void {
  const known = knownDeviceFor(deps, request, canonical);
  const nonce = known?.nonce ?? randomBytes(16).toString('base64url');
  const iat = nowSec(deps);
  const mine = `${nonce}.${iat}.${mac(deps.deviceCookieKey, canonical, nonce, iat)}`;
  const others = entries(deps, request)
    .filter((e) => !safeEqual(e.mac, mac(deps.deviceCookieKey, canonical, e.nonce, e.iat)))
    .map((e) => e.raw)
    .slice(0, MAX_ENTRIES - 1);
  reply.setCookie(cookieNames(deps.config).knownDevice, [mine, ...others].join('~'), {
    path: '/auth',
    httpOnly: true,
    sameSite: 'lax',
    secure: isHttps(deps.config),
    maxAge: KNOWN_DEVICE_MAX_AGE_SEC,
  });
}
