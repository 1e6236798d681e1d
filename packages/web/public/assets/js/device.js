// @ts-check
/**
 * The device approval page (device.html, RFC 8628): a signed-in user types (or follows a link
 * with) the code a TV or CLI shows, checks which app and device ask, and approves or denies.
 * Signed-out visitors go through sign-in and come back here with the code kept (`next`).
 */
import { $ } from './dom.js';
import { problemCode, problemMessage, request } from './api.js';
import { setBusy, setFieldError } from './forms.js';
import { requireUser } from './session.js';

/** What the page says for a wrong, expired or used code (the server's one answer for all three). */
const BAD_CODE = 'This code is wrong, expired or already used. Check the code on your device\'s screen and type it again, or start again on the device to get a new one.';

/**
 * The code as the user typed it, shown back as XXXX-XXXX when it has 8 letters.
 * @param {string} typed
 * @returns {string}
 */
function tidy(typed) {
  const letters = typed.replace(/[\s-]/g, '').toUpperCase();
  return letters.length === 8 ? letters.slice(0, 4) + '-' + letters.slice(4) : typed.trim();
}

export function initDevice() {
  const form = $('code-form', HTMLFormElement);
  const input = $('user-code', HTMLInputElement);
  const inputError = $('user-code-error');
  const confirm = $('confirm');
  const confirmError = $('confirm-error');
  const approve = $('approve', HTMLButtonElement);
  const deny = $('deny', HTMLButtonElement);
  const done = $('done');
  /** The code being confirmed. */
  let code = '';

  const fromLink = new URLSearchParams(window.location.search).get('user_code');
  if (fromLink) input.value = tidy(fromLink);

  /** @param {import('./api.js').Result} result */
  function message(result) {
    return problemCode(result) === 'invalid_user_code' ? BAD_CODE : problemMessage(result);
  }

  function lookup() {
    setFieldError(input, inputError, '');
    const typed = input.value.trim();
    if (!typed) {
      setFieldError(input, inputError, 'Enter the code shown on your device.');
      input.focus();
      return;
    }
    setBusy(form, true);
    request('POST', '/auth/device/lookup', { user_code: typed }).then(function (result) {
      setBusy(form, false);
      if (!result.ok || !result.data) {
        setFieldError(input, inputError, message(result));
        input.focus();
        return;
      }
      const d = result.data;
      code = typeof d.user_code === 'string' ? d.user_code : tidy(typed);
      $('client-name').textContent = typeof d.client_name === 'string' ? d.client_name : '';
      const deviceName = typeof d.device_name === 'string' ? d.device_name : '';
      $('device-name').textContent = deviceName;
      $('device-line').hidden = !deviceName;
      $('confirm-code').textContent = code;
      const scopes = Array.isArray(d.scopes) ? d.scopes.filter(function (/** @type {unknown} */ s) { return typeof s === 'string'; }) : [];
      $('scopes').textContent = scopes.length ? scopes.join(', ') : 'nothing beyond knowing who you are';
      form.hidden = true;
      confirm.hidden = false;
      approve.focus();
    });
  }

  /** @param {'approve' | 'deny'} step */
  function decide(step) {
    confirmError.textContent = '';
    approve.disabled = true;
    deny.disabled = true;
    request('POST', '/auth/device/' + step, { user_code: code }).then(function (result) {
      approve.disabled = false;
      deny.disabled = false;
      if (!result.ok) {
        confirmError.textContent = message(result);
        return;
      }
      confirm.hidden = true;
      done.textContent = step === 'approve'
        ? 'Done: your device is signed in. You can close this page and go back to it.'
        : 'Denied: the device was not signed in. You can close this page.';
      done.hidden = false;
      done.focus();
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    lookup();
  });
  approve.addEventListener('click', function () { decide('approve'); });
  deny.addEventListener('click', function () { decide('deny'); });
  input.addEventListener('input', function () { input.removeAttribute('aria-invalid'); });

  requireUser(function (user) {
    $('username').textContent = typeof user.username === 'string' ? user.username : '';
    form.hidden = false;
    // Arrived with the code (a QR code, verification_uri_complete): straight to the check.
    if (fromLink) lookup();
    else input.focus();
  });
}
