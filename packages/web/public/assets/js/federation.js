// @ts-check
/**
 * Sign-in through identity providers (issue 15): the "Continue with <name>" links of the
 * sign-in and sign-up pages, and the "Link <name>" buttons of the account page. The providers
 * come from GET /auth/federation/providers (public). Plain links where they can be (a browser
 * navigation: the start endpoint redirects to the provider), no inline script or style.
 */
import { $, el, text } from './dom.js';
import { problemMessage, request } from './api.js';
import { nextParam } from './session.js';

/**
 * A configured provider as the endpoint lists it.
 * @typedef {{ id: string, name: string }} Provider
 */

/** @type {Promise<Provider[]> | null} */
let cached = null;

/**
 * The configured providers ([] when none, or when the server has no federation endpoints).
 * @returns {Promise<Provider[]>}
 */
export function providers() {
  if (cached === null) {
    cached = request('GET', '/auth/federation/providers').then(function (result) {
      if (!result.ok || !Array.isArray(result.data)) return [];
      return result.data
        .map(function (/** @type {any} */ p) {
          return { id: text(p && p.id), name: text(p && p.name) };
        })
        .filter(function (/** @type {Provider} */ p) {
          return p.id !== '' && p.name !== '';
        });
    });
  }
  return cached;
}

/**
 * Fills the "or continue with" block of the sign-in or sign-up page (`#federation`, its
 * `#federation-buttons`): one link per provider to its start endpoint, keeping this page's
 * checked `next`. The block stays hidden when no provider is configured.
 */
export function initProviderButtons() {
  const block = document.getElementById('federation');
  const buttons = document.getElementById('federation-buttons');
  if (!block || !buttons) return;
  providers().then(function (list) {
    if (list.length === 0) return;
    const next = nextParam();
    buttons.textContent = '';
    list.forEach(function (p) {
      const a = /** @type {HTMLAnchorElement} */ (el('a', 'button federation-button', 'Continue with ' + p.name));
      a.href = '/auth/federation/' + encodeURIComponent(p.id) + '/start' + (next ? '?next=' + encodeURIComponent(next) : '');
      a.dataset.provider = p.id;
      buttons.appendChild(a);
    });
    block.hidden = false;
  });
}

/**
 * Fills the account page's `#methods-link` with a "Link <name>" button per provider the
 * account has not linked yet: POST /auth/federation/<id>/link (CSRF token: api.js), then the
 * browser goes to the provider, which sends it back to /account.
 * @param {string[]} linked provider ids already linked
 * @param {HTMLElement} error where a refusal is said
 * @param {(result: { status: number }) => boolean} gone
 */
export function renderLinkButtons(linked, error, gone) {
  const box = $('methods-link');
  providers().then(function (list) {
    box.textContent = '';
    const open = list.filter(function (p) {
      return linked.indexOf(p.id) < 0;
    });
    open.forEach(function (p) {
      const button = /** @type {HTMLButtonElement} */ (el('button', 'small', 'Link ' + p.name));
      button.type = 'button';
      button.dataset.provider = p.id;
      button.addEventListener('click', function () {
        button.disabled = true;
        error.textContent = '';
        request('POST', '/auth/federation/' + encodeURIComponent(p.id) + '/link').then(function (result) {
          const data = result.data && typeof result.data === 'object' ? /** @type {{ url?: unknown }} */ (result.data) : null;
          const url = data ? text(data.url) : '';
          if (result.ok && /^https?:\/\//i.test(url)) {
            window.location.assign(url);
            return;
          }
          button.disabled = false;
          if (!gone(result)) error.textContent = problemMessage(result);
        });
      });
      box.appendChild(button);
    });
    box.hidden = open.length === 0;
  });
}
