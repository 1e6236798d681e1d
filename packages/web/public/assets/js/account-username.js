// @ts-check
/** The change-username form of the account page (POST /auth/username). */
import { $ } from './dom.js';
import { problemCode, problemMessage, request } from './api.js';
import { checkFields, setBusy, setFieldError } from './forms.js';

/** The sign-up rule's length (server: auth/policy/username.ts); the server gives the precise answer. */
const MIN_USERNAME = 3;
const MAX_USERNAME = 64;

/**
 * Wires the username form.
 * @param {HTMLElement} usernameEl holds the signed-in username; shows the new one after a change
 * @param {(result: { status: number }) => boolean} gone
 * @param {() => void} changed called after the username was changed (the activity shows it)
 * @returns {{ show: (name: string) => void }}
 */
export function initUsernameForm(usernameEl, gone, changed) {
  const form = $('username-form', HTMLFormElement);
  const input = $('new-username', HTMLInputElement);
  const error = $('new-username-error');
  const formError = $('username-form-error');
  const status = $('username-status');

  input.addEventListener('input', function () {
    setFieldError(input, error, '');
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(input, error, '');
    formError.textContent = '';
    status.textContent = '';
    const wanted = input.value.trim();
    const length = Array.from(wanted).length;
    const valid = checkFields([
      [input, error, length < MIN_USERNAME
        ? 'Your username needs at least ' + MIN_USERNAME + ' characters.'
        : length > MAX_USERNAME && 'Your username can have at most ' + MAX_USERNAME + ' characters.'],
    ]);
    if (!valid) return;
    setBusy(form, true);
    request('POST', '/auth/username', { username: wanted }).then(function (result) {
      setBusy(form, false);
      const code = problemCode(result);
      const data = /** @type {{ username?: unknown }} */ (result.data || {});
      if (result.ok && typeof data.username === 'string') {
        const before = usernameEl.textContent;
        usernameEl.textContent = data.username;
        input.value = data.username;
        status.textContent = data.username === before
          ? 'That is your username already.'
          : 'Your username is now ' + data.username + '. Sign in with it from now on.';
        changed();
      } else if (code === 'username_taken' || code === 'invalid_username') {
        setFieldError(input, error, problemMessage(result));
        input.focus();
      } else if (result.status === 401) {
        gone(result);
      } else {
        formError.textContent = problemMessage(result);
      }
    });
  });

  return {
    show: function (name) {
      input.value = name;
    },
  };
}
