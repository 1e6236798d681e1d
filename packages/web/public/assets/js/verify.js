// @ts-check
/** The email confirmation page (verify-email.html): the token comes in the URL fragment, never sent to a server log. */
import { $ } from './dom.js';
import { problemCode, problemMessage, request } from './api.js';
import { fragmentToken } from './reset.js';

export function initVerify() {
  const status = $('verify-status');
  const error = $('verify-error');
  const token = fragmentToken();
  /** @param {string} message */
  const fail = function (message) {
    status.hidden = true;
    error.textContent = message;
    error.hidden = false;
  };
  if (!token) {
    fail('This page needs the link from your email. Send a new one from your account page.');
    return;
  }
  request('POST', '/auth/email/verify', { token: token }).then(function (result) {
    const data = /** @type {{ email?: unknown }} */ (result.data || {});
    if (result.ok) {
      status.textContent = 'Thank you: ' + (typeof data.email === 'string' ? data.email : 'your address') + ' is confirmed. Password reset links and security notices go there now.';
    } else if (problemCode(result) === 'invalid_verification_token') {
      fail('This link does not work any more: it was used, it expired, a newer one was sent, or the account has another address now. Send a new one from your account page.');
    } else {
      fail(problemMessage(result));
    }
  });
}
