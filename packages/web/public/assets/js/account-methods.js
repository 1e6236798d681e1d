// @ts-check
/**
 * The "Sign-in methods" section of the account page (issue 15): the password and the linked
 * identity-provider accounts, with Unlink (refused on the last way to sign in), and the
 * "Set a password" form for an account that signed up through a provider and has none.
 */
import { $, addMeta, el, text, timeElement } from './dom.js';
import { problemCode, problemMessage, request } from './api.js';
import { MIN_PASSWORD, checkFields, setBusy, setFieldError, strengthFeedback } from './forms.js';
import { row, rowButton, rowTitle } from './list.js';
import { renderLinkButtons } from './federation.js';

/**
 * A linked identity as GET /auth/identities lists it.
 * @typedef {{ provider?: unknown, provider_name?: unknown, subject?: unknown, email?: unknown, linked_at?: unknown, last_used_at?: unknown, removable?: unknown }} LinkedIdentity
 */

const LAST_WAY = 'This is your only way to sign in, so it cannot be removed. Set a password or link another provider first.';

/**
 * Wires the section.
 * @param {HTMLElement} usernameEl holds the signed-in username (for the strength advice)
 * @param {(result: { status: number }) => boolean} gone
 * @param {() => void} changed called after a method was removed or a password set (the activity shows it)
 * @returns {{ load: (status?: string) => Promise<void> }}
 */
export function initSignInMethods(usernameEl, gone, changed) {
  const list = $('methods-list');
  const status = $('methods-status');
  const error = $('methods-error');
  const heading = $('methods-title');
  const setPanel = $('set-password');
  const changePanel = $('password-panel');
  const setForm = $('set-password-form', HTMLFormElement);
  const setInput = $('set-password-new', HTMLInputElement);
  const setError = $('set-password-error');
  const setFormError = $('set-password-form-error');
  const updateStrength = strengthFeedback(setInput, $('set-password-meter'), $('set-password-strength'), function () {
    return usernameEl.textContent || '';
  });

  /**
   * @param {boolean} hasPassword
   * @param {LinkedIdentity[]} identities
   * @param {string} [said]
   */
  function render(hasPassword, identities, said) {
    list.textContent = '';
    const pwMeta = el('p', 'row-meta');
    addMeta(pwMeta, hasPassword ? 'Sign in with your username and password' : 'You have not set a password', null);
    list.appendChild(row({ title: rowTitle('Password'), meta: pwMeta }));
    identities.forEach(function (i, index) {
      const name = text(i.provider_name) || text(i.provider) || 'Identity provider';
      const title = rowTitle(name);
      if (text(i.email)) title.appendChild(el('span', 'chip', text(i.email)));
      const meta = el('p', 'row-meta');
      addMeta(meta, 'Linked', timeElement(i.linked_at, 'absolute'));
      addMeta(meta, 'Last used', timeElement(i.last_used_at, 'relative'));
      const unlink = rowButton('Unlink', 'small danger', 'Unlink ' + name, function (button) {
        remove(i, name, button);
      });
      if (i.removable === true) {
        list.appendChild(row({ title: title, meta: meta, action: unlink }));
        return;
      }
      // The last way to sign in: the button stays, disabled, with the reason beside it.
      unlink.disabled = true;
      const li = row({ title: title, meta: meta, action: unlink, detail: LAST_WAY });
      const why = li.querySelector('.row-detail');
      if (why) {
        why.id = 'method-last-' + index;
        unlink.setAttribute('aria-describedby', why.id);
      }
      list.appendChild(li);
    });
    renderLinkButtons(identities.map(function (i) { return text(i.provider); }), error, gone);
    setPanel.hidden = hasPassword;
    // Changing a password needs the current one: there is none to change yet.
    changePanel.hidden = !hasPassword;
    status.textContent = said || '';
  }

  /** @param {string} [said] */
  function load(said) {
    return request('GET', '/auth/identities').then(function (result) {
      const data = result.data && typeof result.data === 'object' ? /** @type {{ has_password?: unknown, identities?: unknown }} */ (result.data) : null;
      if (result.ok && data) render(data.has_password !== false, Array.isArray(data.identities) ? data.identities : [], said);
      else if (result.status === 404 || result.status === 405 || result.status === 501) {
        // An older server: no sign-in methods to show; keep the password form.
        $('methods-panel').hidden = true;
      } else if (!gone(result)) status.textContent = 'Your sign-in methods could not be loaded. ' + problemMessage(result);
    });
  }

  /**
   * @param {LinkedIdentity} identity
   * @param {string} name
   * @param {HTMLButtonElement} button
   */
  function remove(identity, name, button) {
    button.disabled = true;
    error.textContent = '';
    const url = '/auth/identities/' + encodeURIComponent(text(identity.provider)) + '/' + encodeURIComponent(text(identity.subject));
    request('DELETE', url).then(function (result) {
      if (result.ok || result.status === 404) {
        load(name + ' was unlinked: it no longer signs you in.').then(function () {
          heading.focus();
        });
        changed();
      } else if (!gone(result)) {
        button.disabled = false;
        error.textContent = problemCode(result) === 'last_sign_in_method' ? LAST_WAY : problemMessage(result);
      }
    });
  }

  setInput.addEventListener('input', function () {
    setFieldError(setInput, setError, '');
  });

  setForm.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(setInput, setError, '');
    setFormError.textContent = '';
    const valid = checkFields([
      [setInput, setError, Array.from(setInput.value).length < MIN_PASSWORD && 'Your password needs at least ' + MIN_PASSWORD + ' characters.'],
    ]);
    if (!valid) return;
    setBusy(setForm, true);
    request('POST', '/auth/password/set', { new_password: setInput.value }).then(function (result) {
      setBusy(setForm, false);
      const code = problemCode(result);
      if (result.ok || code === 'password_exists') {
        setInput.value = '';
        updateStrength();
        load(result.ok ? 'Your password was set. You can now sign in with your username and this password too.' : problemMessage(result)).then(function () {
          heading.focus();
        });
        changed();
      } else if (code === 'weak_password' || code === 'invalid_password') {
        setFieldError(setInput, setError, problemMessage(result));
        setInput.focus();
      } else if (!gone(result)) {
        setFormError.textContent = problemMessage(result);
      }
    });
  });

  return { load: load };
}
