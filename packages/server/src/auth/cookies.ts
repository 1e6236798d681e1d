import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatehouseConfig } from '../config/types.js';
import { isHttps } from '../config/issuer.js';
import type { SessionRecord } from '../stores/types.js';
import { deviceFieldProblem } from './policy/device.js';

export const SESSION_COOKIE = 'gatehouse_session';
export const CSRF_COOKIE = 'gatehouse_csrf';
export const DEVICE_COOKIE = 'gatehouse_device';
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
  reply.setCookie(SESSION_COOKIE, secret, { ...base(config), httpOnly: true, ...lifetime });
  reply.setCookie(CSRF_COOKIE, session.csrfToken, { ...base(config), httpOnly: false, ...lifetime });
}

export function clearSessionCookies(reply: FastifyReply, config: GatehouseConfig): void {
  const gone = { ...base(config), maxAge: 0, expires: new Date(0) };
  reply.setCookie(SESSION_COOKIE, '', { ...gone, httpOnly: true });
  reply.setCookie(CSRF_COOKIE, '', { ...gone, httpOnly: false });
}

export function setDeviceCookie(reply: FastifyReply, config: GatehouseConfig, deviceId: string): void {
  reply.setCookie(DEVICE_COOKIE, deviceId, { ...base(config), httpOnly: true, maxAge: DEVICE_COOKIE_MAX_AGE_SEC });
}

/** The device id from the `gatehouse_device` cookie, when present and well-formed. */
export function deviceIdFromCookie(request: FastifyRequest): string | undefined {
  const value = request.cookies[DEVICE_COOKIE];
  return value !== undefined && deviceFieldProblem(value, 'id') === null ? value : undefined;
}
