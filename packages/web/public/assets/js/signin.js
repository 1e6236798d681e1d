// @ts-check
/** The sign-in page (signin.html). */
import { $, clockTime, describeWait, deviceName } from './dom.js';
import { problemCode, problemMessage, request, retryAfterSeconds, signIn } from './api.js';
import { checkFields, setBusy, setFieldError } from './forms.js';
import { go, keepNextOn, nextParam } from './session.js';
import { initProviderButtons } from './federation.js';
import { initReauth } from './reauth.js';
import { passkeyErrorMessage, passkeysSupported, webAuthn } from './webauthn.js';

/**
 * 403 password_change_required (an admin asked for a new password): the reset page, with the
 * answer's single-use reset token in the fragment (never sent to a server). True when it went there.
 * @param {import('./api.js').Result} result
 * @returns {boolean}
 */
function toRequiredReset(result) {
  const problem = /** @type {{ reset_token?: unknown }} */ (result.problem || {});
  if (problemCode(result) !== 'password_change_required' || typeof problem.reset_token !== 'string') return false;
  window.location.assign('/reset-password?reason=required#token=' + encodeURIComponent(problem.reset_token));
  return true;
}

/**
 * @param {import('./api.js').Result} result
 * @returns {string}
 */
function lockoutMessage(result) {
  const wait = retryAfterSeconds(result.response);
  if (wait !== null && wait > 0) {
    const until = new Date(Date.now() + wait * 1000);
    return 'Too many failed sign-in attempts. For your security, signing in to this account is paused. ' +
      'Try again in ' + describeWait(wait) + ' (at ' + clockTime(until) + ').';
  }
  return 'Too many failed sign-in attempts. For your security, signing in is paused for a while. Please try again later.';
}

export function initSignin() {
  const form = $('signin-form', HTMLFormElement);
  const username = $('username', HTMLInputElement);
  const password = $('password', HTMLInputElement);
  const remember = $('remember', HTMLInputElement);
  const usernameError = $('username-error');
  const passwordError = $('password-error');
  const formError = $('form-error');

  // `/signin?reauth=1`: confirm the session's user instead of a new sign-in (step-up).
  if (initReauth()) return;

  keepNextOn($('signup-link', HTMLAnchorElement), '/signup');
  initProviderButtons();
  initPasskeySignin(remember);

  // Only a known flag picks one of our own sentences: nothing from the URL is shown.
  if (new URLSearchParams(window.location.search).get('reason') === 'signed_out') {
    const signedOut = $('signin-notice');
    signedOut.textContent = 'You were signed out on this device (from another device, or the session ended). Sign in again to continue.';
    signedOut.hidden = false;
  }

  function clear() {
    setFieldError(username, usernameError, '');
    setFieldError(password, passwordError, '');
    formError.textContent = '';
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    clear();
    const name = username.value.trim();
    const pass = password.value;
    const valid = checkFields([
      [username, usernameError, !name && 'Enter your username.'],
      [password, passwordError, !pass && 'Enter your password.'],
    ]);
    if (!valid) return;

    setBusy(form, true);
    signIn(name, pass, remember.checked).then(function (result) {
      if (result.ok) {
        go(nextParam() || '/');
        return;
      }
      if (toRequiredReset(result)) return;
      setBusy(form, false);
      const code = problemCode(result);
      const mfa = code === 'mfa_required' ? /** @type {{ mfa_ticket?: unknown, factors?: unknown }} */ (result.problem) : undefined;
      const mfaTicket = mfa ? mfa.mfa_ticket : undefined;
      if (mfa && typeof mfaTicket === 'string') {
        password.value = '';
        askSecondFactor(mfaTicket, Array.isArray(mfa.factors) ? mfa.factors : ['totp', 'recovery_code']);
        return;
      }
      if (code === 'invalid_credentials') {
        formError.textContent = 'The username or password is incorrect.';
        password.value = '';
        password.setAttribute('aria-invalid', 'true');
        password.focus();
      } else if (code === 'rate_limited' || result.status === 429) {
        formError.textContent = lockoutMessage(result);
        password.value = '';
      } else {
        formError.textContent = problemMessage(result);
      }
    });
  });

  const mfaForm = $('mfa-form', HTMLFormElement);
  const mfaCode = $('mfa-code', HTMLInputElement);
  const mfaCodeLabel = $('mfa-code-label');
  const mfaIntro = $('mfa-intro');
  const mfaCodeError = $('mfa-code-error');
  const mfaFormError = $('mfa-form-error');
  const useRecovery = $('mfa-use-recovery', HTMLButtonElement);
  const usePasskey = $('mfa-use-passkey', HTMLButtonElement);
  const mfaVerify = /** @type {HTMLButtonElement} */ (mfaForm.querySelector('button[type=submit]'));
  const mfaCodeField = /** @type {HTMLElement} */ (mfaCode.closest('.field'));
  const usePasskeyLabel = usePasskey.textContent || '';
  let ticket = '';
  let recovery = false;

  /**
   * The second step: the password was right and the account has a second factor: the app's code
   * (or a recovery code) and, when the account has a passkey, "Use a passkey".
   * @param {string} mfaTicket single use, valid a few minutes
   * @param {unknown[]} factors what `mfa_required` listed
   */
  function askSecondFactor(mfaTicket, factors) {
    ticket = mfaTicket;
    form.hidden = true;
    mfaForm.hidden = false;
    const hasCode = factors.includes('totp');
    const hasPasskey = factors.includes('passkey');
    mfaCodeField.hidden = !hasCode;
    mfaVerify.hidden = !hasCode;
    useRecovery.hidden = !hasCode;
    usePasskey.hidden = !(hasPasskey && passkeysSupported());
    if (!hasCode) {
      mfaIntro.textContent = passkeysSupported()
        ? 'Use your passkey to finish signing in.'
        : 'This account signs in with a passkey, which this browser cannot use. Sign in from a browser that has your passkey.';
      usePasskey.focus();
      return;
    }
    mfaCode.value = '';
    mfaCode.focus();
  }

  /** The ticket expired or was used: back to the password. */
  function backToPassword() {
    mfaForm.hidden = true;
    form.hidden = false;
    formError.textContent = 'That took too long. Please sign in again.';
    password.focus();
  }

  /** @param {boolean} isBusy */
  function passkeyBusy(isBusy) {
    usePasskey.disabled = isBusy;
    usePasskey.textContent = isBusy ? (usePasskey.dataset.busyLabel || usePasskeyLabel) : usePasskeyLabel;
    if (isBusy) usePasskey.setAttribute('aria-busy', 'true');
    else usePasskey.removeAttribute('aria-busy');
  }

  usePasskey.addEventListener('click', function () {
    mfaFormError.textContent = '';
    passkeyBusy(true);
    /** @param {string} message */
    const fail = function (message) {
      passkeyBusy(false);
      mfaFormError.textContent = message;
    };
    Promise.all([webAuthn(), request('POST', '/auth/signin/mfa/passkey-options', { ticket: ticket })]).then(function (both) {
      const lib = both[0];
      const options = both[1];
      if (!options.ok || !options.data || typeof options.data !== 'object') {
        if (problemCode(options) === 'invalid_mfa_ticket') {
          passkeyBusy(false);
          backToPassword();
        } else fail(problemMessage(options));
        return;
      }
      return lib.startAuthentication({ optionsJSON: options.data }).then(function (response) {
        return request('POST', '/auth/signin/mfa', { ticket: ticket, passkey: response });
      }, function (err) {
        fail(passkeyErrorMessage(err));
        return null;
      }).then(function (result) {
        if (!result) return;
        if (result.ok) {
          go(nextParam() || '/');
          return;
        }
        const code = problemCode(result);
        if (code === 'invalid_mfa_ticket') {
          passkeyBusy(false);
          backToPassword();
        } else if (code === 'rate_limited' || result.status === 429) fail(lockoutMessage(result));
        else if (code === 'invalid_passkey') fail('That passkey was not accepted. Use a passkey of this account and try again.');
        else fail(problemMessage(result));
      });
    }, function (err) {
      fail(passkeyErrorMessage(err));
    });
  });

  useRecovery.addEventListener('click', function () {
    recovery = true;
    mfaIntro.textContent = 'Enter one of the recovery codes you saved. Each works once.';
    mfaCodeLabel.textContent = 'Recovery code';
    mfaCode.inputMode = 'text';
    mfaCode.autocomplete = 'off';
    useRecovery.hidden = true;
    mfaCode.value = '';
    mfaCode.focus();
  });

  mfaForm.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(mfaCode, mfaCodeError, '');
    mfaFormError.textContent = '';
    const value = mfaCode.value.trim();
    if (!checkFields([[mfaCode, mfaCodeError, !value && (recovery ? 'Enter a recovery code.' : 'Enter the code from your app.')]])) return;
    setBusy(mfaForm, true);
    /** @type {Record<string, string>} */
    const body = recovery ? { ticket: ticket, recovery_code: value } : { ticket: ticket, code: value };
    request('POST', '/auth/signin/mfa', body).then(function (result) {
      if (result.ok) {
        go(nextParam() || '/');
        return;
      }
      if (toRequiredReset(result)) return;
      setBusy(mfaForm, false);
      const code = problemCode(result);
      if (code === 'invalid_mfa_code') {
        setFieldError(mfaCode, mfaCodeError, recovery ? 'That recovery code is wrong or was used already.' : 'That code is wrong or was used already. Wait for the next one and try again.');
        mfaCode.value = '';
        mfaCode.focus();
      } else if (code === 'invalid_mfa_ticket') {
        backToPassword();
      } else if (code === 'rate_limited' || result.status === 429) {
        mfaFormError.textContent = lockoutMessage(result);
      } else {
        mfaFormError.textContent = problemMessage(result);
      }
    });
  });

  [username, password].forEach(function (input) {
    input.addEventListener('input', function () {
      input.removeAttribute('aria-invalid');
    });
  });
}

/**
 * "Sign in with a passkey" (issue 17): no username, the browser offers the passkeys it holds for
 * this site (discoverable credentials), the server checks the assertion and signs in. Shown
 * only where the browser has WebAuthn.
 * @param {HTMLInputElement} remember
 */
function initPasskeySignin(remember) {
  if (!passkeysSupported()) return;
  const box = $('passkey-signin');
  const button = $('passkey-signin-button', HTMLButtonElement);
  const error = $('passkey-signin-error');
  const label = button.textContent || '';
  box.hidden = false;

  /** @param {boolean} busy */
  function busy(busy) {
    button.disabled = busy;
    button.textContent = busy ? (button.dataset.busyLabel || label) : label;
    if (busy) button.setAttribute('aria-busy', 'true');
    else button.removeAttribute('aria-busy');
  }

  /** @param {string} message */
  function fail(message) {
    busy(false);
    error.textContent = message;
  }

  button.addEventListener('click', function () {
    error.textContent = '';
    $('form-error').textContent = '';
    busy(true);
    Promise.all([webAuthn(), request('POST', '/auth/signin/passkey/options')]).then(function (both) {
      const lib = both[0];
      const options = both[1];
      if (!options.ok || !options.data || typeof options.data !== 'object') {
        fail(problemMessage(options));
        return;
      }
      return lib.startAuthentication({ optionsJSON: options.data }).then(function (response) {
        return request('POST', '/auth/signin/passkey', { response: response, device_name: deviceName(), remember: remember.checked });
      }, function (err) {
        fail(passkeyErrorMessage(err));
        return null;
      }).then(function (result) {
        if (!result) return;
        if (result.ok) {
          go(nextParam() || '/');
          return;
        }
        fail(problemCode(result) === 'invalid_passkey'
          ? 'That passkey did not sign you in. It may have been removed from your account; sign in with your password instead.'
          : problemMessage(result));
      });
    }, function (err) {
      fail(passkeyErrorMessage(err));
    });
  });
}
