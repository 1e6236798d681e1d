// @ts-check
/**
 * The sign-in page in re-authentication mode (`/signin?reauth=1&next=…`, issue 17): the gateway
 * sends a page here when its route wants a more recent sign-in (`maxAuthAgeSec`) or a second
 * factor (`mfa: true`, `&mfa=1`). The user confirms the password of the session they already
 * have (POST /auth/reauth: same session, same cookie), then goes back to `next`. Second factors
 * add their own fields to the same request.
 */
import { $ } from './dom.js';
import { problemCode, problemMessage, request, retryAfterSeconds } from './api.js';
import { checkFields, setBusy, setFieldError } from './forms.js';
import { go, nextParam } from './session.js';

/** A plain sign-in, back to the same `next` (no session to re-authenticate). */
function signInAgain() {
  const next = nextParam();
  go('/signin' + (next ? '?next=' + encodeURIComponent(next) : ''));
}

/**
 * Turns the sign-in form into a re-authentication form when the URL asks for one; says whether it did.
 * @returns {boolean}
 */
export function initReauth() {
  const params = new URLSearchParams(window.location.search);
  if (params.get('reauth') !== '1') return false;
  const form = $('signin-form', HTMLFormElement);
  const username = $('username', HTMLInputElement);
  const password = $('password', HTMLInputElement);
  const passwordError = $('password-error');
  const formError = $('form-error');
  const notice = $('signin-notice');
  const heading = document.querySelector('h1');
  if (heading) heading.textContent = 'Confirm it’s you';
  document.title = 'Confirm it’s you · Gatehouse';
  // Only our own sentences: nothing from the URL is shown.
  const wantsMfa = params.get('mfa') === '1';
  notice.textContent = wantsMfa
    ? 'This page needs a sign-in with a second factor. Confirm your password and enter the code from your authenticator app.'
    : 'This page needs a recent sign-in. Confirm your password to continue.';
  const code = wantsMfa ? addCodeField(password) : null;
  notice.hidden = false;
  for (const id of ['remember', 'federation']) {
    const part = document.getElementById(id);
    const holder = id === 'remember' ? part && part.parentElement : part;
    if (holder) holder.hidden = true;
  }
  const usernameField = username.parentElement;
  if (usernameField) usernameField.hidden = true;
  const submit = form.querySelector('button[type="submit"]');
  if (submit) {
    submit.textContent = 'Continue';
    submit.setAttribute('data-busy-label', 'Checking…');
  }
  const signupLink = document.getElementById('signup-link');
  if (signupLink && signupLink.parentElement) signupLink.parentElement.hidden = true;

  // Fill in who is signed in (the account page's source); no session: a plain sign-in instead.
  request('GET', '/auth/me').then(function (me) {
    if (me.status === 401) signInAgain();
    else if (me.ok && me.data && typeof me.data === 'object' && typeof me.data.username === 'string') username.value = me.data.username;
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(password, passwordError, '');
    if (code) setFieldError(code.input, code.error, '');
    formError.textContent = '';
    /** @type {[HTMLInputElement, HTMLElement, string | false][]} */
    const checks = [[password, passwordError, !password.value && 'Enter your password.']];
    if (code) checks.push([code.input, code.error, !/^\d{6}$/.test(code.input.value.replace(/\s/g, '')) && 'Enter the 6-digit code from your authenticator app.']);
    if (!checkFields(checks)) return;
    setBusy(form, true);
    /** @type {Record<string, string>} */
    const proof = { password: password.value };
    if (code) proof.code = code.input.value.replace(/\s/g, '');
    request('POST', '/auth/reauth', proof).then(function (result) {
      if (result.ok) {
        go(nextParam() || '/');
        return;
      }
      setBusy(form, false);
      password.value = '';
      if (code) code.input.value = '';
      const problem = problemCode(result);
      if (problem === 'invalid_mfa_code' && code) {
        setFieldError(code.input, code.error, 'The code is wrong or was used already. Wait for the next code in your app.');
        code.input.focus();
      } else if (problem === 'invalid_credentials') {
        formError.textContent = 'The password is incorrect.';
        password.setAttribute('aria-invalid', 'true');
        password.focus();
      } else if (problem === 'rate_limited' || result.status === 429) {
        const wait = retryAfterSeconds(result.response);
        formError.textContent = 'Too many wrong passwords. Try again ' + (wait ? 'in ' + wait + ' seconds.' : 'later.');
      } else if (result.status === 401) {
        signInAgain();
      } else {
        formError.textContent = problemMessage(result);
      }
    });
  });
  return true;
}

/**
 * The one-time code field of a re-authentication for an `mfa: true` page, after the password's.
 * @param {HTMLInputElement} password
 * @returns {{ input: HTMLInputElement, error: HTMLElement }}
 */
function addCodeField(password) {
  const field = document.createElement('div');
  field.className = 'field';
  const label = document.createElement('label');
  label.htmlFor = 'reauth-code';
  label.textContent = 'One-time code';
  const input = document.createElement('input');
  input.id = 'reauth-code';
  input.name = 'code';
  input.type = 'text';
  input.inputMode = 'numeric';
  input.autocomplete = 'one-time-code';
  input.setAttribute('autocapitalize', 'none');
  input.spellcheck = false;
  input.required = true;
  input.setAttribute('aria-describedby', 'reauth-code-error');
  const error = document.createElement('p');
  error.id = 'reauth-code-error';
  error.className = 'error';
  error.setAttribute('role', 'alert');
  error.setAttribute('aria-live', 'polite');
  field.append(label, input, error);
  const passwordField = password.closest('.field') || password.parentElement;
  if (passwordField) passwordField.after(field);
  return { input, error };
}
