import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../context.js';
import type { UserRecord } from '../stores/types.js';
import { recordAudit } from './audit.js';
import { setDeviceCookie, setSessionCookies } from './cookies.js';
import { setKnownDeviceCookie } from './device-cookie.js';
import { iso } from './endpoint-context.js';
import { createDeviceSession } from './sessions.js';

/** What a finished browser sign-in starts: the device session, and how it was proved. */
export interface BrowserSignin {
  user: UserRecord;
  deviceId: string;
  deviceName: string | null;
  persistent: boolean;
  /** RFC 8176 methods of this sign-in (sessions.ts). */
  amr: readonly string[];
  /** The device is the browser's own (cookie or new): set the device cookie; false when an app sent `device_id`. */
  setDevice: boolean;
  /** The activity entry's `via` and whatever else it records beside sid, persistent and replaced. */
  audit: { via: string } & Record<string, unknown>;
}

/** The 200 body of every browser sign-in (POST /auth/signin, /auth/signin/mfa, /auth/signin/passkey). */
export interface SigninAnswer {
  user: { id: string; username: string; roles: string[] };
  session: { id: string; device_id: string; expires_at: string };
  csrf_token: string;
}

/**
 * The one ending of a browser sign-in, whichever proof came before it (a password, a second
 * step, a passkey): the device session (replacing the device's earlier one), the session, CSRF
 * and device cookies, the known-device cookie that exempts this browser from the account lock,
 * the `signin.success` activity entry, and the answer's body.
 */
export async function startBrowserSession(deps: Deps, request: FastifyRequest, reply: FastifyReply, s: BrowserSignin): Promise<SigninAnswer> {
  const { user, deviceId } = s;
  const { session, secret, replaced } = await createDeviceSession(deps, { user, deviceId, deviceName: s.deviceName, persistent: s.persistent, amr: s.amr }, request);
  setSessionCookies(reply, deps.config, session, secret);
  if (s.setDevice) setDeviceCookie(reply, deps.config, deviceId);
  setKnownDeviceCookie(reply, deps, request, user.usernameCanonical);
  const { via, ...more } = s.audit;
  await recordAudit(deps, request, {
    type: 'signin.success',
    userId: user.id,
    deviceId,
    detail: { via, sid: session.id, persistent: s.persistent, replaced: replaced.length, ...more },
  });
  return {
    user: { id: user.id, username: user.username, roles: [...user.roles] },
    session: { id: session.id, device_id: session.deviceId, expires_at: iso(session.expiresAt) },
    csrf_token: session.csrfToken,
  };
}
