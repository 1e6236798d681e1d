import type { RouteConfig } from '../config/types.js';
import { AUTH_SERVICE } from '../credentials/auth-service.js';

const FORM_OR_JSON = ['application/json', 'application/x-www-form-urlencoded'];

/**
 * The gateway's routes to the internal auth service. Sign-up, sign-in and the sign-up challenge take no credential
 * and are refused when sent cross-site (login CSRF); the OAuth endpoints take forms too; every
 * other `/auth/*` path needs a credential and gets a passport with `aud: "auth"`.
 */
export function authRoutes(authUrl: string): RouteConfig[] {
  const upstream = authUrl.replace(/\/+$/, '');
  return [
    { path: '/auth/signup', upstream, service: AUTH_SERVICE, auth: 'none', loginCsrf: true },
    { path: '/auth/signin', upstream, service: AUTH_SERVICE, auth: 'none', loginCsrf: true },
    // Proof-of-work challenges for sign-up: fetched before anyone is signed in.
    { path: '/auth/challenge', upstream, service: AUTH_SERVICE, auth: 'none' },
    { path: '/auth/token', upstream, service: AUTH_SERVICE, auth: 'none', contentTypes: FORM_OR_JSON },
    { path: '/auth/revoke', upstream, service: AUTH_SERVICE, auth: 'none', contentTypes: FORM_OR_JSON },
    { path: '/auth/introspect', upstream, service: AUTH_SERVICE, auth: 'none', contentTypes: FORM_OR_JSON },
    // RFC 8628: a TV or CLI asks for a device code before anyone is signed in on it.
    { path: '/auth/device/authorize', upstream, service: AUTH_SERVICE, auth: 'none', contentTypes: FORM_OR_JSON },
    // The OpenAPI document of these endpoints (auth/openapi.ts).
    // Federation (issue 15): start and callback are browser navigations before sign-in (the
    // callback comes cross-site from the provider, so no login-CSRF Origin check: the sealed
    // transaction cookie is its defence); a session, when sent, gets a passport for the link
    // mode, whose POST is held to the CSRF token like every cookie-authenticated write.
    { path: '/auth/federation', upstream, service: AUTH_SERVICE, auth: 'optional' },
    { path: '/auth/openapi.json', upstream, service: AUTH_SERVICE, auth: 'none' },
    // Account recovery (issue 18): before anyone is signed in; a link's token is the credential.
    // Refused when sent cross-site, like sign-in.
    { path: '/auth/password/forgot', upstream, service: AUTH_SERVICE, auth: 'none', loginCsrf: true },
    { path: '/auth/password/reset', upstream, service: AUTH_SERVICE, auth: 'none', loginCsrf: true },
    { path: '/auth/email/verify', upstream, service: AUTH_SERVICE, auth: 'none', loginCsrf: true },
    { path: '/auth', upstream, service: AUTH_SERVICE, auth: 'required' },
  ];
}
