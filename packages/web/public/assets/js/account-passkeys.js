// @ts-check
/**
 * The "Passkeys" section of the account page (issue 17): add a passkey with a name (the
 * current password re-authenticates), the list (name, created, last used), rename, remove.
 * The WebAuthn ceremony itself is @simplewebauthn/browser (webauthn.js).
 */
import { $, addMeta, el, text, timeElement } from './dom.js';
import { problemCode, problemMessage, request } from './api.js';
import { setBusy, setFieldError } from './forms.js';
import { row, rowButton, rowList, rowTitle } from './list.js';
import { passkeyErrorMessage, passkeysSupported, webAuthn } from './webauthn.js';

/**
 * A passkey as GET /auth/passkeys lists it.
 * @typedef {{ id?: unknown, name?: unknown, created_at?: unknown, last_used_at?: unknown, synced?: unknown, backed_up?: unknown }} Passkey
 */

const WRONG_PASSWORD = 'The password is incorrect.';

/**
 * Wires the section.
 * @param {HTMLElement} usernameEl holds the signed-in username (for password managers)
 * @param {(result: { status: number }) => boolean} gone
 * @param {() => void} changed called after a passkey was added, renamed or removed (the activity shows it)
 * @returns {{ load: (status?: string) => Promise<void> }}
 */
export function initPasskeys(usernameEl, gone, changed) {
  const form = $('passkey-form', HTMLFormElement);
  const nameInput = $('passkey-name', HTMLInputElement);
  const nameError = $('passkey-name-error');
  const passwordField = $('passkey-password-field');
  const passwordInput = $('passkey-password', HTMLInputElement);
  const passwordError = $('passkey-password-error');
  const formError = $('passkey-form-error');
  const formStatus = $('passkey-status');
  const heading = $('passkeys-title');
  const listError = $('passkeys-error');
  /** Whether the account has a password (then adding and removing ask for it). */
  let hasPassword = true;
  let editCount = 0;

  if (!passkeysSupported()) {
    $('passkeys-unsupported').hidden = false;
    form.hidden = true;
  }

  /** @type {import('./list.js').RowList} */
  const passkeys = rowList({
    list: $('passkeys-list'),
    status: $('passkeys-status'),
    error: listError,
    heading: heading,
    url: '/auth/passkeys',
    key: 'passkeys',
    empty: 'You have no passkeys yet.',
    loadFailed: 'Your passkeys could not be loaded.',
    gone: gone,
    changed: changed,
    /** @param {Passkey} p */
    render: function (p) {
      const name = text(p.name) || 'Unnamed passkey';
      const id = String(p.id);
      const title = rowTitle(name);
      if (p.synced === true) title.appendChild(el('span', 'chip', 'synced'));
      const meta = el('p', 'row-meta');
      addMeta(meta, 'Created', timeElement(p.created_at, 'absolute'));
      const used = timeElement(p.last_used_at, 'relative');
      addMeta(meta, used ? 'Last used' : 'Never used', used);
      const actions = el('div', 'row-actions');
      const li = row({ id: id, title: title, meta: meta, action: actions });
      const rename = rowButton('Rename', 'small', 'Rename passkey ' + name, function (button) {
        openRename(li, button, id, name);
      });
      const remove = rowButton('Remove', 'small danger', 'Remove passkey ' + name, function (button) {
        openRemove(li, button, id, name);
      });
      actions.appendChild(rename);
      actions.appendChild(remove);
      return li;
    },
  });

  // ---- rename and remove: a small form under the row

  /**
   * Opens `form` under the row `li` for `button` (one at a time per row); Escape or Cancel closes it.
   * @param {HTMLLIElement} li
   * @param {HTMLButtonElement} button
   * @param {HTMLFormElement} editForm
   */
  function openUnder(li, button, editForm) {
    const open = li.querySelector('.row-edit');
    if (open) open.remove();
    li.querySelectorAll('.row-actions button').forEach(function (b) {
      b.setAttribute('aria-expanded', 'false');
    });
    editForm.id = 'passkey-edit-' + (++editCount);
    button.setAttribute('aria-controls', editForm.id);
    button.setAttribute('aria-expanded', 'true');
    function close() {
      editForm.remove();
      button.setAttribute('aria-expanded', 'false');
      button.focus();
    }
    editForm.addEventListener('keydown', function (event) {
      if (event.key === 'Escape') close();
    });
    const cancel = el('button', 'small', 'Cancel');
    cancel.type = 'button';
    cancel.addEventListener('click', close);
    const actions = editForm.querySelector('.actions');
    if (actions) actions.appendChild(cancel);
    li.appendChild(editForm);
    const first = editForm.querySelector('input, button');
    if (first instanceof HTMLElement) first.focus();
  }

  /**
   * A labelled field for a row form: [field div, input, error].
   * @param {string} label
   * @param {string} type
   * @param {string} autocomplete
   * @returns {[HTMLDivElement, HTMLInputElement, HTMLParagraphElement]}
   */
  function field(label, type, autocomplete) {
    const n = ++editCount;
    const div = el('div', 'field');
    const input = el('input');
    input.id = 'passkey-field-' + n;
    input.type = type;
    input.autocomplete = /** @type {AutoFill} */ (autocomplete);
    input.required = true;
    const lab = el('label', null, label);
    lab.htmlFor = input.id;
    const error = el('p', 'error');
    error.id = input.id + '-error';
    error.setAttribute('role', 'alert');
    input.setAttribute('aria-describedby', error.id);
    input.addEventListener('input', function () {
      setFieldError(input, error, '');
    });
    div.appendChild(lab);
    div.appendChild(input);
    div.appendChild(error);
    return [div, input, error];
  }

  /**
   * @param {HTMLLIElement} li
   * @param {HTMLButtonElement} button
   * @param {string} id
   * @param {string} name
   */
  function openRename(li, button, id, name) {
    const editForm = el('form', 'row-edit');
    editForm.noValidate = true;
    const [div, input, error] = field('New name for ' + name, 'text', 'off');
    input.maxLength = 100;
    input.value = name;
    const formErr = el('p', 'error form-error');
    formErr.setAttribute('role', 'alert');
    const actions = el('div', 'actions');
    const save = el('button', 'small primary', 'Save name');
    save.type = 'submit';
    save.dataset.busyLabel = 'Saving…';
    actions.appendChild(save);
    editForm.append(div, formErr, actions);
    editForm.addEventListener('submit', function (event) {
      event.preventDefault();
      const newName = input.value.trim();
      if (!newName) {
        setFieldError(input, error, 'Enter a name.');
        input.focus();
        return;
      }
      setBusy(editForm, true);
      request('PATCH', '/auth/passkeys/' + encodeURIComponent(id), { name: newName }).then(function (result) {
        if (result.ok) {
          passkeys.load('Passkey "' + name + '" is now called "' + newName + '".').then(function () {
            heading.focus();
          });
          changed();
        } else if (!gone(result)) {
          setBusy(editForm, false);
          formErr.textContent = problemMessage(result);
        }
      });
    });
    openUnder(li, button, editForm);
  }

  /**
   * @param {HTMLLIElement} li
   * @param {HTMLButtonElement} button
   * @param {string} id
   * @param {string} name
   */
  function openRemove(li, button, id, name) {
    const editForm = el('form', 'row-edit confirm');
    editForm.noValidate = true;
    const question = el('p', null, 'Remove passkey "' + name + '"? It will no longer sign you in. Remove it from your device or password manager too.');
    question.id = 'passkey-remove-question-' + (++editCount);
    editForm.appendChild(question);
    /** @type {HTMLInputElement | null} */
    let input = null;
    /** @type {HTMLParagraphElement | null} */
    let error = null;
    if (hasPassword) {
      const [div, i, e] = field('Current password', 'password', 'current-password');
      input = i;
      error = e;
      editForm.appendChild(div);
    }
    const formErr = el('p', 'error form-error');
    formErr.setAttribute('role', 'alert');
    const actions = el('div', 'actions');
    const yes = el('button', 'small danger', 'Remove passkey');
    yes.type = 'submit';
    yes.dataset.busyLabel = 'Removing…';
    yes.setAttribute('aria-describedby', question.id);
    actions.appendChild(yes);
    editForm.append(formErr, actions);
    editForm.addEventListener('submit', function (event) {
      event.preventDefault();
      formErr.textContent = '';
      if (input && error && !input.value) {
        setFieldError(input, error, 'Enter your password.');
        input.focus();
        return;
      }
      setBusy(editForm, true);
      listError.textContent = '';
      request('DELETE', '/auth/passkeys/' + encodeURIComponent(id), input ? { password: input.value } : {}).then(function (result) {
        if (result.ok || result.status === 404) {
          passkeys.load('Passkey "' + name + '" was removed: it no longer signs you in.').then(function () {
            heading.focus();
          });
          changed();
          return;
        }
        setBusy(editForm, false);
        if (problemCode(result) === 'invalid_credentials' && input && error) {
          input.value = '';
          setFieldError(input, error, WRONG_PASSWORD);
          input.focus();
        } else if (!gone(result)) {
          formErr.textContent = problemMessage(result);
        }
      });
    });
    openUnder(li, button, editForm);
  }

  // ---- add a passkey

  nameInput.addEventListener('input', function () {
    setFieldError(nameInput, nameError, '');
  });
  passwordInput.addEventListener('input', function () {
    setFieldError(passwordInput, passwordError, '');
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(nameInput, nameError, '');
    setFieldError(passwordInput, passwordError, '');
    formError.textContent = '';
    formStatus.textContent = '';
    const name = nameInput.value.trim();
    if (!name) {
      setFieldError(nameInput, nameError, 'Give the passkey a name, so you can tell your passkeys apart.');
      nameInput.focus();
      return;
    }
    if (hasPassword && !passwordInput.value) {
      setFieldError(passwordInput, passwordError, 'Enter your password.');
      passwordInput.focus();
      return;
    }
    setBusy(form, true);
    const body = hasPassword ? { password: passwordInput.value } : {};
    Promise.all([webAuthn(), request('POST', '/auth/passkeys/options', body)]).then(function (both) {
      const lib = both[0];
      const options = both[1];
      if (!options.ok || !options.data || typeof options.data !== 'object') {
        setBusy(form, false);
        if (problemCode(options) === 'invalid_credentials') {
          passwordInput.value = '';
          setFieldError(passwordInput, passwordError, WRONG_PASSWORD);
          passwordInput.focus();
        } else if (!gone(options)) {
          formError.textContent = problemMessage(options);
        }
        return;
      }
      passwordInput.value = '';
      return lib.startRegistration({ optionsJSON: options.data }).then(function (response) {
        return request('POST', '/auth/passkeys', { name: name, response: response }).then(function (result) {
          setBusy(form, false);
          if (result.ok) {
            nameInput.value = '';
            formStatus.textContent = 'Passkey "' + (text(result.data && result.data.name) || name) + '" added. You can sign in with it now.';
            passkeys.load();
            changed();
          } else if (!gone(result)) {
            formError.textContent = problemMessage(result);
          }
        });
      }, function (err) {
        setBusy(form, false);
        formError.textContent = passkeyErrorMessage(err);
      });
    }, function (err) {
      setBusy(form, false);
      formError.textContent = passkeyErrorMessage(err);
    });
  });

  /** @param {string} [status] */
  function load(status) {
    $('passkey-username', HTMLInputElement).value = usernameEl.textContent || '';
    // Whether there is a password to ask for (an account made through a provider may have none).
    const methods = request('GET', '/auth/identities').then(function (result) {
      if (result.ok && result.data && typeof result.data === 'object') hasPassword = result.data.has_password !== false;
      passwordField.hidden = !hasPassword;
    });
    return Promise.all([methods, passkeys.load(status)]).then(function () {});
  }

  return { load: load };
}
