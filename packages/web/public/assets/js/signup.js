// @ts-check
/** The sign-up page (signup.html): the form, the strength meter and the proof of work. */
import { $, el } from './dom.js';
import { problemCode, problemMessage, request, signIn } from './api.js';
import { MIN_PASSWORD, checkFields, setBusy, setFieldError, strengthFeedback } from './forms.js';
import { challengePayload, solveChallenge } from './pow.js';
import { go, keepNextOn, nextParam } from './session.js';
import { initProviderButtons } from './federation.js';

export function initSignup() {
  const form = $('signup-form', HTMLFormElement);
  const username = $('username', HTMLInputElement);
  const password = $('password', HTMLInputElement);
  const show = $('show-password', HTMLInputElement);
  const usernameError = $('username-error');
  const passwordError = $('password-error');
  const formError = $('form-error');
  const pow = $('pow');
  const powStatus = $('pow-status');
  const powProgress = $('pow-progress', HTMLProgressElement);

  keepNextOn($('signin-link', HTMLAnchorElement), '/signin');
  initProviderButtons();

  show.addEventListener('change', function () {
    password.type = show.checked ? 'text' : 'password';
  });

  const updateStrength = strengthFeedback(password, $('password-meter'), $('password-strength'), function () {
    return username.value;
  });
  username.addEventListener('input', function () {
    if (password.value) updateStrength();
  });

  function clear() {
    setFieldError(username, usernameError, '');
    setFieldError(password, passwordError, '');
    formError.textContent = '';
  }

  /** @param {number} fraction */
  function showProgress(fraction) {
    const percent = Math.min(100, Math.floor(fraction * 100));
    powProgress.value = percent;
    powStatus.textContent = "Checking you're not a bot… " + percent + '%';
  }

  /**
   * Fetches and solves a challenge. Resolves to the payload, or rejects with a message.
   * @returns {Promise<string>}
   */
  function solve() {
    pow.hidden = false;
    showProgress(0);
    $('pow-announce').textContent = "Checking you're not a bot. This takes a few seconds.";
    return request('GET', '/auth/challenge').then(function (result) {
      if (!result.ok || !result.data || typeof result.data.challenge !== 'string') {
        throw new Error(result.status === 429 || result.status === 0 || result.status >= 500
          ? problemMessage(result)
          : "The check that you're not a bot could not be loaded. Please try again later.");
      }
      /** @type {import('./pow.js').Challenge} */
      const challenge = result.data;
      return solveChallenge(challenge, showProgress).then(function (number) {
        if (number === null) throw new Error('The check could not be completed. Please try again.');
        powStatus.textContent = 'Check complete. Creating your account…';
        $('pow-announce').textContent = 'Check complete.';
        return challengePayload(challenge, number);
      });
    });
  }

  /**
   * @param {string} name
   * @param {string} pass
   */
  function signedUp(name, pass) {
    // Hide the password again before the browser offers to save it.
    show.checked = false;
    password.type = 'password';
    return signIn(name, pass, true).then(function (signin) {
      if (signin.ok) {
        go(nextParam() || '/');
        return;
      }
      setBusy(form, false);
      pow.hidden = true;
      const next = nextParam();
      formError.textContent = 'Your account was created, but we could not sign you in: ' +
        problemMessage(signin) + ' ';
      const link = el('a', null, 'Go to sign in');
      link.href = '/signin' + (next ? '?next=' + encodeURIComponent(next) : '');
      formError.appendChild(link);
    });
  }

  /** @param {import('./api.js').Failure} result */
  function failed(result) {
    setBusy(form, false);
    pow.hidden = true;
    const code = problemCode(result);
    const message = problemMessage(result);
    if (code === 'username_taken' || code === 'invalid_username') {
      setFieldError(username, usernameError, message);
      username.focus();
    } else if (code === 'weak_password' || code === 'invalid_password') {
      setFieldError(password, passwordError, message);
      password.focus();
    } else {
      formError.textContent = message;
    }
  }

  /**
   * Sends the sign-up; solves a proof-of-work challenge when asked (and once more if refused).
   * @param {string} name
   * @param {string} pass
   * @param {string | null} payload
   * @param {number} solves
   * @returns {Promise<void>}
   */
  function send(name, pass, payload, solves) {
    /** @type {{ username: string, password: string, challenge?: string }} */
    const body = { username: name, password: pass };
    if (payload) body.challenge = payload;
    return request('POST', '/auth/signup', body).then(function (result) {
      if (result.status === 201 || result.ok) return signedUp(name, pass);
      const code = problemCode(result);
      const again = (code === 'challenge_required' && solves === 0) || (code === 'invalid_challenge' && solves === 1);
      if (again) {
        return solve().then(function (next) {
          return send(name, pass, next, solves + 1);
        }, function (err) {
          failed({ status: 400, problem: { detail: err && err.message ? err.message : 'The check failed. Please try again.' } });
        });
      }
      if (code === 'challenge_required' || code === 'invalid_challenge') {
        failed({ status: 400, problem: { detail: 'We could not confirm you are not a bot. Please try again.' } });
        return undefined;
      }
      failed(result);
      return undefined;
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    clear();
    const name = username.value.trim();
    const pass = password.value;
    const valid = checkFields([
      [username, usernameError, !name && 'Choose a username.'],
      [password, passwordError, Array.from(pass).length < MIN_PASSWORD && (pass
        ? 'Your password needs at least ' + MIN_PASSWORD + ' characters.'
        : 'Choose a password of at least ' + MIN_PASSWORD + ' characters.')],
    ]);
    if (!valid) return;
    setBusy(form, true);
    send(name, pass, null, 0);
  });

  username.addEventListener('input', function () {
    setFieldError(username, usernameError, '');
  });
  password.addEventListener('input', function () {
    setFieldError(password, passwordError, '');
  });
}
