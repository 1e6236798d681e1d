// @ts-check
/** The API tokens section of the account page: the list, the create form, the new token box. */
import { $, addMeta, el, text, timeElement, toDate, copyShownSecret } from './dom.js';
import { problemMessage, request } from './api.js';
import { setBusy, setFieldError } from './forms.js';
import { row, rowButton, rowList, rowTitle } from './list.js';

/**
 * An API token as GET /auth/api-tokens lists it (never its secret).
 * @typedef {{ id?: unknown, name?: unknown, scopes?: unknown, created_at?: unknown, last_used_at?: unknown, expires_at?: unknown }} ApiToken
 */

/**
 * Wires the tokens section.
 * @param {(result: { status: number }) => boolean} gone
 * @param {() => void} changed called when a token was created or deleted (the activity shows it)
 * @returns {import('./list.js').RowList}
 */
export function initTokens(gone, changed) {
  const tokenForm = $('token-form', HTMLFormElement);
  const tokenName = $('token-name', HTMLInputElement);
  const tokenNameError = $('token-name-error');
  const scopesError = $('token-scopes-error');
  const tokenFormError = $('token-form-error');
  const expiry = $('token-expiry', HTMLSelectElement);
  const newToken = $('new-token');
  const newTokenValue = $('new-token-value', HTMLInputElement);
  const copyStatus = $('copy-status');

  /** @type {import('./list.js').RowList} */
  const tokens = rowList({
    list: $('tokens-list'),
    status: $('tokens-status'),
    error: $('tokens-error'),
    heading: $('tokens-title'),
    url: '/auth/api-tokens',
    key: 'tokens',
    empty: 'You have no API tokens.',
    loadFailed: 'Your API tokens could not be loaded.',
    gone: gone,
    changed: changed,
    /** @param {ApiToken} t */
    render: function (t, list) {
      const name = text(t.name) || 'Unnamed token';
      const title = rowTitle(name);
      const scopes = Array.isArray(t.scopes) ? t.scopes : [];
      scopes.forEach(function (scope) {
        title.appendChild(el('code', 'chip', String(scope)));
      });
      if (!scopes.length) title.appendChild(el('span', 'chip', 'no scopes'));
      const meta = el('p', 'row-meta');
      addMeta(meta, 'Created', timeElement(t.created_at, 'absolute'));
      const used = timeElement(t.last_used_at, 'relative');
      addMeta(meta, used ? 'Last used' : 'Never used', used);
      const expires = toDate(t.expires_at);
      if (!expires) addMeta(meta, 'Never expires', null);
      else addMeta(meta, expires.getTime() < Date.now() ? 'Expired' : 'Expires', timeElement(t.expires_at, 'absolute'));
      const del = rowButton('Delete', 'small danger', 'Delete token ' + name, function (button) {
        list.remove(String(t.id), button, 'Token "' + name + '" was deleted. Scripts using it will stop working.');
      });
      return row({ title: title, meta: meta, action: del });
    },
  });

  tokenName.addEventListener('input', function () {
    setFieldError(tokenName, tokenNameError, '');
  });

  tokenForm.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(tokenName, tokenNameError, '');
    scopesError.textContent = '';
    tokenFormError.textContent = '';
    const name = tokenName.value.trim();
    const scopes = Array.from(tokenForm.querySelectorAll('input[name="scopes"]:checked')).map(function (box) {
      return /** @type {HTMLInputElement} */ (box).value;
    });
    if (!name) {
      setFieldError(tokenName, tokenNameError, 'Give the token a name, so you know later what it is for.');
      tokenName.focus();
      return;
    }
    if (!scopes.length) {
      scopesError.textContent = 'Choose at least one scope.';
      $('scope-notes-read').focus();
      return;
    }
    /** @type {{ name: string, scopes: string[], expires_in?: number }} */
    const body = { name: name, scopes: scopes };
    if (expiry.value) body.expires_in = parseInt(expiry.value, 10);
    setBusy(tokenForm, true);
    request('POST', '/auth/api-tokens', body).then(function (result) {
      setBusy(tokenForm, false);
      if (result.ok && result.data && typeof result.data.token === 'string') {
        tokenName.value = '';
        $('new-token-name').textContent = '"' + (text(result.data.name) || name) + '"';
        newTokenValue.value = result.data.token;
        copyStatus.textContent = '';
        newToken.hidden = false;
        newToken.focus();
        newTokenValue.select();
        tokens.load();
        changed();
      } else if (!gone(result)) {
        tokenFormError.textContent = problemMessage(result);
      }
    });
  });

  function selectToken() {
    newTokenValue.focus();
    newTokenValue.select();
    newTokenValue.setSelectionRange(0, newTokenValue.value.length);
  }

  newTokenValue.addEventListener('focus', selectToken);

  $('copy-token').addEventListener('click', function () {
    copyShownSecret(newTokenValue, copyStatus, 'token');
  });

  $('new-token-done').addEventListener('click', function () {
    newTokenValue.value = '';
    newToken.hidden = true;
    copyStatus.textContent = '';
    $('tokens-title').focus();
  });

  return tokens;
}
