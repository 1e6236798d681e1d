// @ts-check
/**
 * The reset page (reset-password.html): the token comes in the URL fragment (#token=…), which
 * browsers never send, so it reaches no server log; it is taken out of the address bar at once.
 */
import { $ } from './dom.js';
import { problemCode, problemMessage, request } from './api.js';
import { MIN_PASSWORD, checkFields, setBusy, setFieldError, strengthFeedback } from './forms.js';

/** The token of `#token=…`, or ''. */
export function fragmentToken() {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const token = params.get('token') || '';
  if (window.location.hash) window.history.replaceState(null, '', window.location.pathname);
  return /^[A-Za-z0-9_-]{16,256}$/.test(token) ? token : '';
}

export function initReset() {
  const form = $('reset-form', HTMLFormElement);
  const password = $('reset-password', HTMLInputElement);
  const error = $('reset-password-error');
  const formError = $('reset-form-error');
  const notice = $('reset-notice');
  const status = $('reset-status');
  const show = $('reset-show', HTMLInputElement);
  strengthFeedback(password, $('reset-password-meter'), $('reset-password-strength'), function () {
    return '';
  });
  // Read before fragmentToken() takes the token (and so the query) out of the address bar.
  const required = new URLSearchParams(window.location.search).get('reason') === 'required';
  const token = fragmentToken();
  if (!token) {
    form.hidden = true;
    notice.textContent = 'This page needs the link from your email (or from an admin). Ask for a new one below.';
    notice.hidden = false;
    return;
  }
  if (required) {
    notice.textContent = 'Your account needs a new password before you can sign in. Choose one now.';
    notice.hidden = false;
  }

  show.addEventListener('change', function () {
    password.type = show.checked ? 'text' : 'password';
  });
  password.addEventListener('input', function () {
    setFieldError(password, error, '');
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(password, error, '');
    formError.textContent = '';
    const valid = checkFields([
      [password, error, Array.from(password.value).length < MIN_PASSWORD && 'Your new password needs at least ' + MIN_PASSWORD + ' characters.'],
    ]);
    if (!valid) return;
    setBusy(form, true);
    request('POST', '/auth/password/reset', { token: token, password: password.value }).then(function (result) {
      setBusy(form, false);
      const code = problemCode(result);
      if (result.ok) {
        form.hidden = true;
        notice.hidden = true;
        status.hidden = false;
      } else if (code === 'weak_password' || code === 'invalid_password') {
        setFieldError(password, error, problemMessage(result));
        password.focus();
      } else if (code === 'invalid_reset_token') {
        form.hidden = true;
        notice.textContent = 'This link does not work any more: it was used, it expired, or a newer one was sent. Ask for a new one below.';
        notice.hidden = false;
      } else {
        formError.textContent = problemMessage(result);
      }
    });
  });
}
