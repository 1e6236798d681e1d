import type { FastifyReply, FastifyRequest } from 'fastify';
import { cookieNames } from '../config/cookie-names.js';
import type { GatehouseConfig } from '../config/types.js';
import { isHttps } from '../config/issuer.js';
import type { SessionRecord } from '../stores/types.js';
import { deviceFieldProblem } from './policy/device.js';

// Cookie names come from `cookieNames(config)` (config/cookie-names.ts): bare on http, `__Host-` on https.
const DEVICE_COOKIE_MAX_AGE_SEC = 400 * 24 * 3600;

function base(config: GatehouseConfig) {
  return { path: '/', sameSite: 'lax' as const, secure: isHttps(config) };
}

/**
 * Sets the session cookie (HttpOnly) and the CSRF cookie (readable by the page script). A
 * persistent session's cookies last until its absolute expiry (the server enforces the sliding
 * one); a remember:false session gets browser-session cookies (no Max-Age / Expires).
 */
export function setSessionCookies(reply: FastifyReply, config: GatehouseConfig, session: SessionRecord, secret: string): void {
  const maxAge = session.persistent ? Math.max(0, Math.floor((session.absoluteExpiresAt - session.createdAt) / 1000)) : undefined;
  const lifetime = maxAge === undefined ? {} : { maxAge };
  const names = cookieNames(config);
  reply.setCookie(names.session, secret, { ...base(config), httpOnly: true, ...lifetime });
  reply.setCookie(names.csrf, session.csrfToken, { ...base(config), httpOnly: false, ...lifetime });
}

export function clearSessionCookies(reply: FastifyReply, config: GatehouseConfig): void {
  const gone = { ...base(config), maxAge: 0, expires: new Date(0) };
  const names = cookieNames(config);
  reply.setCookie(names.session, '', { ...gone, httpOnly: true });
  reply.setCookie(names.csrf, '', { ...gone, httpOnly: false });
}

export function setDeviceCookie(reply: FastifyReply, config: GatehouseConfig, deviceId: string): void {
  reply.setCookie(cookieNames(config).device, deviceId, { ...base(config), httpOnly: true, maxAge: DEVICE_COOKIE_MAX_AGE_SEC });
}

/** The device id from the `gatehouse_device` cookie (`__Host-` on https), when present and well-formed. */
export function deviceIdFromCookie(request: FastifyRequest, config: GatehouseConfig): string | undefined {
  const value = request.cookies[cookieNames(config).device];
  return value !== undefined && deviceFieldProblem(value, 'id') === null ? value : undefined;
}
