// @ts-check
/**
 * Where pages send people (the checked `next` parameter, the sign-in page and back), and the
 * signed-in state that the notes and account pages need.
 */
import { $, el } from './dom.js';
import { problemMessage, request } from './api.js';

/**
 * The `next` query parameter when it is a same-origin path, else '/'.
 * Accepts only "/..." - never "//host", "/\host", a scheme, or control or
 * whitespace characters (browsers drop tabs and newlines, which could turn
 * "/\t/evil" into "//evil").
 * @param {unknown} raw
 * @returns {string}
 */
export function safeNext(raw) {
  if (typeof raw !== 'string' || raw === '') return '/';
  if (raw.charAt(0) !== '/') return '/';
  if (raw.charAt(1) === '/' || raw.charAt(1) === '\\') return '/';
  if (/[\u0000-\u0020\u007f\\]/.test(raw)) return '/';
  try {
    const url = new URL(raw, window.location.origin);
    if (url.origin !== window.location.origin) return '/';
    return url.pathname + url.search + url.hash;
  } catch {
    return '/';
  }
}

/**
 * The validated `next` of this page, or null when there is none worth keeping.
 * @returns {string | null}
 */
export function nextParam() {
  const raw = new URLSearchParams(window.location.search).get('next');
  if (raw === null) return null;
  const next = safeNext(raw);
  return next === '/' ? null : next;
}

/**
 * Keeps `next` on the link to the other auth page.
 * @param {HTMLAnchorElement | null} link
 * @param {string} path
 */
export function keepNextOn(link, path) {
  const next = nextParam();
  if (link && next) link.href = path + '?next=' + encodeURIComponent(next);
}

/** @param {string} path */
export function go(path) {
  window.location.assign(safeNext(path));
}

/**
 * The sign-in page, back to here after. `signedOut`: this device's session was ended (signed
 * out elsewhere, or it ran out), so the sign-in page says why it is shown.
 * @param {boolean} [signedOut]
 * @returns {string}
 */
export function signinUrl(signedOut) {
  const here = window.location.pathname + window.location.search;
  const query = [];
  if (here && here !== '/') query.push('next=' + encodeURIComponent(here));
  if (signedOut) query.push('reason=signed_out');
  return '/signin' + (query.length ? '?' + query.join('&') : '');
}

/**
 * The user of /auth/me.
 * @typedef {{ username?: unknown, roles?: unknown }} User
 */

/**
 * The user entity from /auth/me (also accepts {user:{...}}).
 * @param {any} data
 * @returns {User}
 */
export function userOf(data) {
  if (data && typeof data.user === 'object' && data.user) return data.user;
  return data || {};
}

/**
 * Loads /auth/me for a page that needs a signed-in user: resolves with the user, sends a
 * signed-out visitor to sign-in (and back here after), and shows other errors with a retry.
 * @param {(user: User) => void} onUser
 */
export function requireUser(onUser) {
  const loading = $('loading');
  request('GET', '/auth/me').then(function (result) {
    if (result.ok && result.data) {
      loading.hidden = true;
      onUser(userOf(result.data));
    } else if (result.status === 401) {
      // invalid_token: a session cookie came but its session is over (unauthenticated: none came).
      window.location.replace(signinUrl(!!result.problem && result.problem.code === 'invalid_token'));
    } else {
      loading.textContent = problemMessage(result) + ' ';
      const retry = el('button', 'small', 'Try again');
      retry.type = 'button';
      retry.addEventListener('click', function () {
        window.location.reload();
      });
      loading.appendChild(retry);
    }
  });
}

/**
 * Replaces the page content with a notice that the session is over, and a way back in.
 * @param {HTMLElement} content
 * @param {string} [message]
 */
export function sessionEnded(content, message) {
  const notice = $('session-ended');
  content.hidden = true;
  notice.textContent = '';
  notice.appendChild(el('p', null, message || 'You have been signed out, perhaps from another device. Please sign in again.'));
  const link = el('a', 'button primary', 'Sign in');
  link.href = signinUrl();
  notice.appendChild(link);
  notice.hidden = false;
  link.focus();
}

/**
 * A check for each failed request of a signed-in page: on 401 the session is over, so the
 * page content gives way to the session-ended notice. Returns whether it did.
 * @param {HTMLElement} content
 * @returns {(result: { status: number }) => boolean}
 */
export function endsSession(content) {
  return function gone(result) {
    if (result.status !== 401) return false;
    sessionEnded(content);
    return true;
  };
}
