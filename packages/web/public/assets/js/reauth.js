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
  notice.textContent = params.get('mfa') === '1'
    ? 'This page needs a sign-in with a second factor or a passkey. Confirm your password to continue.'
    : 'This page needs a recent sign-in. Confirm your password to continue.';
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
    formError.textContent = '';
    if (!checkFields([[password, passwordError, !password.value && 'Enter your password.']])) return;
    setBusy(form, true);
    request('POST', '/auth/reauth', { password: password.value }).then(function (result) {
      if (result.ok) {
        go(nextParam() || '/');
        return;
      }
      setBusy(form, false);
      password.value = '';
      const code = problemCode(result);
      if (code === 'invalid_credentials') {
        formError.textContent = 'The password is incorrect.';
        password.setAttribute('aria-invalid', 'true');
        password.focus();
      } else if (code === 'rate_limited' || result.status === 429) {
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
