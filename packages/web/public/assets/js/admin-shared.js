// @ts-check
/**
 * What the admin pages (admin.html, admin-user.html, admin-audit.html) share: the admin API
 * call that turns the guard's refusals into the page's answer (sign-in, re-authentication, "you
 * need the admin role"), next/previous paging over the API's opaque cursors, and the small
 * pieces every table shows (times, user links, event words).
 *
 * Every admin page has these elements: #loading, #session-ended, #admin-denied (with
 * #admin-denied-detail) and #admin (the page's content).
 */
import { $, el, text, timeElement } from './dom.js';
import { problemCode, problemMessage, request } from './api.js';
import { signinUrl } from './session.js';

/**
 * The re-authentication page for this page (what the gateway sends a stale page navigation to):
 * `/signin?reauth=1&next=<this page>`, and `&mfa=1` when the refusal asked for a second factor.
 * @param {boolean} mfa
 * @returns {string}
 */
export function reauthUrl(mfa) {
  const here = window.location.pathname + window.location.search + window.location.hash;
  return '/signin?reauth=1&next=' + encodeURIComponent(here) + (mfa ? '&mfa=1' : '');
}

/**
 * Shows "You need the admin role" in place of the page content, with what to do.
 * @param {string} detail the refusal's detail (it names the command an admin runs)
 */
export function showDenied(detail) {
  $('loading').hidden = true;
  $('admin').hidden = true;
  $('admin-denied-detail').textContent = detail ||
    'Ask an administrator to run "gatehouse users grant <your username> admin" on the server, then reload this page.';
  const denied = $('admin-denied');
  denied.hidden = false;
  const heading = denied.querySelector('h2');
  if (heading instanceof HTMLElement) heading.focus();
}

/**
 * Leaves the page for `url` (sign-in, re-authentication) in place of this one, as the gateway's
 * redirect of a page does: Back from the sign-in page does not land on a page that sends it there
 * again, and the sign-in page returns here by its `next`.
 * @param {string} url
 */
function leaveFor(url) {
  window.location.replace(url);
}

/**
 * An admin API call. Resolves with the result, or with null when the guard refused and the page
 * has already answered for it: no session (to the sign-in page, back here after), a sign-in too old
 * or without a second factor (to re-authentication, back here after), not an admin (the "you need
 * the admin role" notice). The CSRF header goes with every write (api.js `request`).
 * @param {string} method
 * @param {string} url
 * @param {unknown} [body]
 * @returns {Promise<import('./api.js').Result | null>}
 */
export function adminRequest(method, url, body) {
  return request(method, url, body).then(function (result) {
    if (result.ok) return result;
    const code = problemCode(result);
    if (result.status === 401 && code === 'insufficient_user_authentication') {
      const problem = /** @type {{ required?: unknown }} */ (result.problem || {});
      leaveFor(reauthUrl(problem.required === 'mfa'));
      return null;
    }
    if (result.status === 401) {
      // invalid_token: a session cookie came but its session is over (unauthenticated: none came).
      leaveFor(signinUrl(code === 'invalid_token'));
      return null;
    }
    if (result.status === 403 && code === 'admin_required') {
      showDenied(text(result.problem && result.problem.detail));
      return null;
    }
    return result;
  });
}

/**
 * The page's first call: shows the content when it answers, the reason when it fails.
 * @param {string} url
 * @param {(data: any) => void} onData
 */
export function loadPage(url, onData) {
  const loading = $('loading');
  adminRequest('GET', url).then(function (result) {
    if (result === null) return;
    if (result.ok) {
      loading.hidden = true;
      $('admin').hidden = false;
      onData(result.data);
      return;
    }
    loading.textContent = (result.status === 404 && !problemCode(result)
      ? 'The admin API is not available on this Gatehouse.'
      : problemMessage(result)) + ' ';
    const retry = el('button', 'small', 'Try again');
    retry.type = 'button';
    retry.addEventListener('click', function () {
      window.location.reload();
    });
    loading.appendChild(retry);
  });
}

/**
 * @typedef {object} Pager
 * @property {() => string | null} cursor the cursor of the page shown (null: the first)
 * @property {() => void} reset back to the first page (the filters changed)
 * @property {(nextCursor: unknown, count: number) => void} shown a page came: its next_cursor and how many rows it had
 */

/**
 * Next / previous over keyset pages: the API gives only a cursor to the next page, so the cursors
 * of the pages before this one are kept on a stack; "Previous" pops it.
 * @param {{ prev: HTMLButtonElement, next: HTMLButtonElement, label: HTMLElement, load: () => void }} parts
 * @returns {Pager}
 */
export function cursorPager(parts) {
  /** @type {(string | null)[]} */
  let before = [];
  /** @type {string | null} */
  let current = null;
  /** @type {string | null} */
  let following = null;

  function update() {
    parts.prev.disabled = before.length === 0;
    parts.next.disabled = following === null;
  }

  parts.next.addEventListener('click', function () {
    if (following === null) return;
    before.push(current);
    current = following;
    following = null;
    update();
    parts.load();
  });
  parts.prev.addEventListener('click', function () {
    if (before.length === 0) return;
    current = /** @type {string | null} */ (before.pop());
    following = null;
    update();
    parts.load();
  });

  return {
    cursor: function () {
      return current;
    },
    reset: function () {
      before = [];
      current = null;
      following = null;
      update();
    },
    shown: function (nextCursor, count) {
      following = typeof nextCursor === 'string' && nextCursor !== '' ? nextCursor : null;
      update();
      const page = before.length + 1;
      parts.label.textContent = 'Page ' + page + (count ? '' : ' (empty)');
    },
  };
}

/**
 * A URL with the query parameters that have a value.
 * @param {string} path
 * @param {Record<string, string | null | undefined>} params
 * @returns {string}
 */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') query.set(key, value);
  }
  const s = query.toString();
  return s ? path + '?' + s : path;
}

/**
 * The detail page of a user.
 * @param {string} id
 * @returns {string}
 */
export function userPageUrl(id) {
  return '/admin/user?id=' + encodeURIComponent(id);
}

/**
 * A table cell, labelled for the narrow layout (style.css shows `data-label` before each cell
 * when the table turns into one block per row).
 * @param {string} label
 * @param {Node | string | null} content
 * @returns {HTMLTableCellElement}
 */
export function cell(label, content) {
  const td = el('td');
  td.dataset.label = label;
  if (typeof content === 'string') td.textContent = content;
  else if (content) td.appendChild(content);
  return td;
}

/**
 * A <time> (absolute), or a dash for none.
 * @param {unknown} value
 * @returns {Node}
 */
export function when(value) {
  return timeElement(value, 'absolute') || document.createTextNode('—');
}

/**
 * A short text of an audit event's detail object ("by: cli · target: …").
 * @param {unknown} detail
 * @returns {string}
 */
export function detailText(detail) {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object') return String(detail);
  return Object.entries(/** @type {Record<string, unknown>} */ (detail))
    .map(function ([key, value]) {
      return key + ': ' + (value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value));
    })
    .join(' · ');
}

/**
 * A line for a failed call that the guard did not take over.
 * @param {HTMLElement} where
 * @param {import('./api.js').Result} result
 * @param {string} [before] what failed, said before the reason
 */
export function sayFailure(where, result, before) {
  where.textContent = (before ? before + ' ' : '') + problemMessage(result);
}
