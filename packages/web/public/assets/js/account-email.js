// @ts-check
/** The Email section of the account page: GET/PUT/DELETE /auth/email (issue 18). */
import { $ } from './dom.js';
import { problemCode, problemMessage, request } from './api.js';
import { checkFields, setBusy, setFieldError } from './forms.js';

/**
 * Wires the email section.
 * @param {HTMLElement} usernameEl holds the signed-in username (for password managers)
 * @param {(result: { status: number }) => boolean} gone
 * @param {() => void} changed called after the address changed (the activity shows it)
 * @returns {{ load: () => void }}
 */
export function initEmail(usernameEl, gone, changed) {
  const current = $('email-current');
  const form = $('email-form', HTMLFormElement);
  const address = $('email-address', HTMLInputElement);
  const addressError = $('email-address-error');
  const password = $('email-password', HTMLInputElement);
  const passwordField = $('email-password-field');
  const passwordError = $('email-password-error');
  const formError = $('email-form-error');
  const status = $('email-status');
  const remove = $('email-remove', HTMLButtonElement);
  const hiddenUsername = $('email-username', HTMLInputElement);

  /** @param {unknown} data */
  function show(data) {
    const d = /** @type {{ email?: unknown, verified?: unknown, password_required?: unknown }} */ (data || {});
    // An account without a password (signed up through a provider) proves a recent sign-in instead.
    if (typeof d.password_required === 'boolean') {
      passwordField.hidden = !d.password_required;
      password.required = d.password_required;
    }
    if (typeof d.email === 'string' && d.email) {
      current.textContent = d.verified === true
        ? 'Your address: ' + d.email + ' (confirmed).'
        : 'Your address: ' + d.email + ' (not confirmed yet: open the link we mailed to it).';
      remove.hidden = false;
    } else {
      current.textContent = 'No email address. Add one to be able to reset a forgotten password.';
      remove.hidden = true;
    }
  }

  function load() {
    hiddenUsername.value = usernameEl.textContent || '';
    request('GET', '/auth/email').then(function (result) {
      if (result.ok) show(result.data);
      else if (!gone(result)) current.textContent = problemMessage(result);
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(address, addressError, '');
    setFieldError(password, passwordError, '');
    formError.textContent = '';
    status.textContent = '';
    const value = address.value.trim();
    const valid = checkFields([
      [address, addressError, !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) && 'Enter an email address like name@example.com.'],
      [password, passwordError, !passwordField.hidden && !password.value && 'Enter your current password.'],
    ]);
    if (!valid) return;
    setBusy(form, true);
    request('PUT', '/auth/email', passwordField.hidden ? { email: value } : { email: value, password: password.value }).then(function (result) {
      setBusy(form, false);
      const code = problemCode(result);
      if (result.ok) {
        password.value = '';
        address.value = '';
        show(result.data);
        status.textContent = 'We sent a confirmation link to ' + value + '. Open it to finish.';
        changed();
      } else if (code === 'invalid_credentials') {
        setFieldError(password, passwordError, 'Your current password is not right.');
        password.focus();
      } else if (code === 'invalid_body') {
        setFieldError(address, addressError, problemMessage(result));
        address.focus();
      } else if (code === 'forbidden' && passwordField.hidden) {
        formError.textContent = 'To change your address, sign out and sign in again first (it can reset your password, so it needs a recent sign-in).';
      } else if (code === 'email_unavailable') {
        formError.textContent = 'This server cannot send mail right now, so the address cannot be confirmed. Nothing was changed; try again later.';
      } else if (result.status === 401) {
        gone(result);
      } else {
        formError.textContent = problemMessage(result);
      }
    });
  });

  remove.addEventListener('click', function () {
    formError.textContent = '';
    status.textContent = '';
    setFieldError(password, passwordError, '');
    // Removing asks for what a change asks for: the current password (or, without one, a recent sign-in).
    if (!passwordField.hidden && !password.value) {
      setFieldError(password, passwordError, 'Enter your current password to remove the address.');
      password.focus();
      return;
    }
    remove.disabled = true;
    request('DELETE', '/auth/email', passwordField.hidden ? {} : { password: password.value }).then(function (result) {
      remove.disabled = false;
      const code = problemCode(result);
      if (result.ok || result.status === 404) {
        password.value = '';
        show({ email: null, password_required: !passwordField.hidden });
        status.textContent = 'The address was removed.';
        changed();
      } else if (code === 'invalid_credentials') {
        setFieldError(password, passwordError, 'Your current password is not right.');
        password.focus();
      } else if (code === 'forbidden' && passwordField.hidden) {
        formError.textContent = 'To remove your address, sign out and sign in again first (it needs a recent sign-in).';
      } else if (!gone(result)) {
        formError.textContent = problemMessage(result);
      }
    });
  });

  return { load: load };
}
