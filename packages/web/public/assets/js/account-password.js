// @ts-check
/** The change-password form of the account page. */
import { $ } from './dom.js';
import { problemCode, problemMessage, request } from './api.js';
import { MIN_PASSWORD, checkFields, setBusy, setFieldError, strengthFeedback } from './forms.js';

/**
 * Wires the password form.
 * @param {HTMLElement} usernameEl holds the signed-in username (for the strength advice)
 * @param {(result: { status: number }) => boolean} gone
 * @param {() => void} changed called after the password was changed (other sessions ended)
 */
export function initPasswordForm(usernameEl, gone, changed) {
  const passwordForm = $('password-form', HTMLFormElement);
  const current = $('current-password', HTMLInputElement);
  const fresh = $('new-password', HTMLInputElement);
  const currentError = $('current-password-error');
  const freshError = $('new-password-error');
  const passwordFormError = $('password-form-error');
  const passwordStatus = $('password-status');
  const showPasswords = $('show-passwords', HTMLInputElement);
  const updateStrength = strengthFeedback(fresh, $('new-password-meter'), $('new-password-strength'), function () {
    return usernameEl.textContent || '';
  });

  showPasswords.addEventListener('change', function () {
    current.type = showPasswords.checked ? 'text' : 'password';
    fresh.type = showPasswords.checked ? 'text' : 'password';
  });
  current.addEventListener('input', function () {
    setFieldError(current, currentError, '');
  });
  fresh.addEventListener('input', function () {
    setFieldError(fresh, freshError, '');
  });

  passwordForm.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(current, currentError, '');
    setFieldError(fresh, freshError, '');
    passwordFormError.textContent = '';
    passwordStatus.textContent = '';
    const valid = checkFields([
      [current, currentError, !current.value && 'Enter your current password.'],
      [fresh, freshError, Array.from(fresh.value).length < MIN_PASSWORD
        ? 'Your new password needs at least ' + MIN_PASSWORD + ' characters.'
        : fresh.value === current.value && 'Choose a password different from the current one.'],
    ]);
    if (!valid) return;
    setBusy(passwordForm, true);
    request('POST', '/auth/password', { current_password: current.value, new_password: fresh.value }).then(function (result) {
      setBusy(passwordForm, false);
      const code = problemCode(result);
      if (result.ok) {
        current.value = '';
        fresh.value = '';
        showPasswords.checked = false;
        current.type = 'password';
        fresh.type = 'password';
        updateStrength();
        passwordStatus.textContent = 'Your password was changed. Every other device and app signed in to your account was signed out; this one stays signed in. Your API tokens still work: delete any you no longer trust under API tokens.';
        changed();
      } else if (code === 'invalid_credentials') {
        setFieldError(current, currentError, 'Your current password is not right.');
        current.focus();
      } else if (code === 'weak_password' || code === 'invalid_password') {
        setFieldError(fresh, freshError, problemMessage(result));
        fresh.focus();
      } else if (result.status === 401) {
        gone(result);
      } else {
        passwordFormError.textContent = problemMessage(result);
      }
    });
  });
}
