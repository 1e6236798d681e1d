// @ts-check
/** The forgotten-password page (forgot-password.html): POST /auth/password/forgot, the same answer for any name. */
import { $, describeWait } from './dom.js';
import { problemCode, problemMessage, request, retryAfterSeconds } from './api.js';
import { checkFields, setBusy, setFieldError } from './forms.js';

export function initForgot() {
  const form = $('forgot-form', HTMLFormElement);
  const input = $('forgot-name', HTMLInputElement);
  const error = $('forgot-name-error');
  const formError = $('forgot-form-error');
  const status = $('forgot-status');

  input.addEventListener('input', function () {
    setFieldError(input, error, '');
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(input, error, '');
    formError.textContent = '';
    const value = input.value.trim();
    if (!checkFields([[input, error, !value && 'Enter your username or email address.']])) return;
    setBusy(form, true);
    request('POST', '/auth/password/forgot', { username_or_email: value }).then(function (result) {
      setBusy(form, false);
      if (result.ok) {
        form.hidden = true;
        // The server says the same whether or not an account matched; so does this page.
        status.textContent = 'If an account with a verified email address matches, a reset link is on its way. ' +
          'Check your mail (and spam folder). The link works once, for a short time.';
        status.hidden = false;
        return;
      }
      if (problemCode(result) === 'rate_limited' || result.status === 429) {
        const wait = retryAfterSeconds(result.response);
        formError.textContent = 'Too many requests. Try again' + (wait !== null && wait > 0 ? ' in ' + describeWait(wait) : ' later') + '.';
      } else {
        formError.textContent = problemMessage(result);
      }
    });
  });
}
