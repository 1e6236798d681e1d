// @ts-check
/**
 * The "Two-step sign-in" section of the account page (issue 17): set up an authenticator app
 * (QR code and key, confirmed with a first code), remove it, new recovery codes (shown once).
 * Every change asks for the current password.
 */
import { $, el } from './dom.js';
import { problemCode, problemMessage, request } from './api.js';
import { checkFields, setBusy, setFieldError } from './forms.js';

/**
 * GET /auth/mfa.
 * @typedef {{ totp?: { status?: unknown }, recovery_codes_left?: unknown }} MfaState
 */

/**
 * Wires the section.
 * @param {HTMLElement} usernameEl holds the signed-in username (for password managers)
 * @param {(result: { status: number }) => boolean} gone
 * @param {() => void} changed called after a change (the activity shows it)
 * @returns {{ load: () => Promise<void> }}
 */
export function initMfa(usernameEl, gone, changed) {
  const status = $('mfa-status');
  const error = $('mfa-error');
  const passwordForm = $('mfa-password-form', HTMLFormElement);
  const password = $('mfa-password', HTMLInputElement);
  const passwordError = $('mfa-password-error');
  const enrol = $('mfa-enrol', HTMLButtonElement);
  const remove = $('mfa-remove', HTMLButtonElement);
  const recovery = $('mfa-recovery', HTMLButtonElement);
  const setup = $('mfa-setup');
  const qr = $('mfa-qr', HTMLImageElement);
  const secret = $('mfa-secret');
  const confirmForm = $('mfa-confirm-form', HTMLFormElement);
  const confirmCode = $('mfa-confirm-code', HTMLInputElement);
  const confirmError = $('mfa-confirm-error');
  const codes = $('mfa-codes');
  const codesList = $('mfa-codes-list');
  const username = $('mfa-username', HTMLInputElement);

  /** @param {unknown} list */
  function showCodes(list) {
    codesList.textContent = '';
    if (!Array.isArray(list)) return;
    list.forEach(function (code) {
      const item = el('li', 'code');
      item.textContent = String(code);
      codesList.appendChild(item);
    });
    codes.hidden = false;
  }

  /** @returns {boolean} */
  function havePassword() {
    setFieldError(password, passwordError, '');
    error.textContent = '';
    return checkFields([[password, passwordError, !password.value && 'Enter your current password.']]);
  }

  /** @param {import('./api.js').Result} result */
  function failed(result) {
    if (gone(result)) return;
    if (problemCode(result) === 'invalid_credentials') setFieldError(password, passwordError, 'The current password is wrong.');
    else error.textContent = problemMessage(result);
  }

  async function load() {
    username.value = usernameEl.textContent || '';
    const result = await request('GET', '/auth/mfa');
    if (!result.ok) {
      failed(result);
      return;
    }
    /** @type {MfaState} */
    const state = result.data && typeof result.data === 'object' ? result.data : {};
    const on = state.totp !== undefined && state.totp.status === 'enabled';
    status.textContent = on
      ? 'On: sign-in asks for a code from your authenticator app. Recovery codes left: ' + String(state.recovery_codes_left) + '.'
      : 'Off: sign-in asks for your password only.';
    enrol.hidden = on;
    remove.hidden = !on;
    recovery.hidden = !on;
  }

  enrol.addEventListener('click', function () {
    if (!havePassword()) return;
    setBusy(passwordForm, true);
    request('POST', '/auth/mfa/totp', { password: password.value }).then(function (result) {
      setBusy(passwordForm, false);
      if (!result.ok) {
        failed(result);
        return;
      }
      password.value = '';
      const data = /** @type {{ secret: string, qr_svg: string }} */ (result.data);
      // The QR code is an SVG the server rendered; shown as an image (no script runs in it).
      qr.src = 'data:image/svg+xml,' + encodeURIComponent(data.qr_svg);
      secret.textContent = data.secret;
      setup.hidden = false;
      confirmCode.focus();
    });
  });

  confirmForm.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(confirmCode, confirmError, '');
    if (!checkFields([[confirmCode, confirmError, !confirmCode.value.trim() && 'Enter the code your app shows.']])) return;
    setBusy(confirmForm, true);
    request('POST', '/auth/mfa/totp/confirm', { code: confirmCode.value.trim() }).then(function (result) {
      setBusy(confirmForm, false);
      if (!result.ok) {
        if (gone(result)) return;
        if (problemCode(result) === 'invalid_mfa_code') setFieldError(confirmCode, confirmError, 'That code is wrong. Check the time on your phone and try the next one.');
        else confirmError.textContent = problemMessage(result);
        return;
      }
      confirmCode.value = '';
      setup.hidden = true;
      secret.textContent = '';
      qr.removeAttribute('src');
      const data = /** @type {{ recovery_codes: unknown }} */ (result.data);
      if (data.recovery_codes) showCodes(data.recovery_codes);
      changed();
      load();
    });
  });

  remove.addEventListener('click', function () {
    if (!havePassword()) return;
    request('DELETE', '/auth/mfa/totp', { password: password.value }).then(function (result) {
      if (!result.ok) {
        failed(result);
        return;
      }
      password.value = '';
      codes.hidden = true;
      changed();
      load();
    });
  });

  recovery.addEventListener('click', function () {
    if (!havePassword()) return;
    request('POST', '/auth/mfa/recovery-codes', { password: password.value }).then(function (result) {
      if (!result.ok) {
        failed(result);
        return;
      }
      password.value = '';
      showCodes(/** @type {{ recovery_codes: unknown }} */ (result.data).recovery_codes);
      changed();
      load();
    });
  });

  return { load: load };
}
