// @ts-check
/**
 * One user in the admin pages (admin-user.html, `/admin/user?id=…`, or `#id=…`): the account,
 * its devices, API tokens, linked identities, second factors and recent events
 * (GET /auth/admin/users/:id), and the actions: disable / enable, end all sessions, require a
 * password change, a reset link (shown once), roles, delete. Every destructive action asks first
 * in a dialog; delete asks for the username to be typed.
 */
import { $, addMeta, deviceName, el, text, timeElement, toDate, copyShownSecret } from './dom.js';
import { problemMessage } from './api.js';
import { setBusy, setFieldError } from './forms.js';
import { row, rowButton, rowTitle } from './list.js';
import { activityWords, isWarning } from './account.js';
import { adminRequest, detailText, loadPage, when, withQuery } from './admin-shared.js';

/**
 * @typedef {{ id?: unknown, username?: unknown, roles?: unknown, disabled?: unknown, created_at?: unknown, updated_at?: unknown,
 *   email?: unknown, email_verified?: unknown, password_change_required?: unknown, has_password?: unknown }} UserDetail
 * @typedef {{ id?: unknown, device_id?: unknown, device_name?: unknown, kind?: unknown, created_at?: unknown, last_seen_at?: unknown, ip?: unknown }} SessionRow
 * @typedef {{ id?: unknown, name?: unknown, scopes?: unknown, created_at?: unknown, last_used_at?: unknown, expires_at?: unknown }} TokenRow
 * @typedef {{ provider?: unknown, subject?: unknown, email?: unknown, created_at?: unknown, last_used_at?: unknown }} IdentityRow
 * @typedef {{ id?: unknown, name?: unknown, created_at?: unknown, last_used_at?: unknown }} PasskeyRow
 * @typedef {{ id?: unknown, at?: unknown, type?: unknown, ip?: unknown, device_id?: unknown, user_agent?: unknown, detail?: unknown }} AuditRow
 */

/**
 * What a confirmation asks.
 * @typedef {object} Question
 * @property {string} title
 * @property {string} text
 * @property {string} yes the confirm button's words
 * @property {string} [typed] the text to type before it counts (the username, for delete)
 */

/**
 * The user id this page shows: `?id=` or `#id=`.
 * @returns {string}
 */
function userIdOfPage() {
  const fromQuery = new URLSearchParams(window.location.search).get('id');
  if (fromQuery) return fromQuery;
  return new URLSearchParams(window.location.hash.replace(/^#/, '')).get('id') || '';
}

/**
 * Roles typed as "admin, support" or "admin support": the distinct names, in order.
 * @param {string} value
 * @returns {string[]}
 */
export function parseRoles(value) {
  /** @type {string[]} */
  const roles = [];
  value.split(/[\s,]+/).forEach(function (r) {
    if (r && roles.indexOf(r) === -1) roles.push(r);
  });
  return roles;
}

/**
 * The confirmation dialog: resolves true when the admin confirms, false on Cancel or Escape.
 * @returns {(q: Question) => Promise<boolean>}
 */
function confirmDialog() {
  const dialog = $('confirm-dialog', HTMLDialogElement);
  const form = $('confirm-form', HTMLFormElement);
  const typedField = $('confirm-typed');
  const typedLabel = $('confirm-typed-label');
  const typedInput = $('confirm-typed-input', HTMLInputElement);
  const typedError = $('confirm-typed-error');
  /** @type {((yes: boolean) => void) | null} */
  let answer = null;
  /** @type {string | undefined} */
  let typed;

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (typed !== undefined && typedInput.value.trim() !== typed) {
      setFieldError(typedInput, typedError, 'Type the username exactly as shown to confirm.');
      typedInput.focus();
      return;
    }
    dialog.close('yes');
  });
  typedInput.addEventListener('input', function () {
    setFieldError(typedInput, typedError, '');
  });
  $('confirm-no').addEventListener('click', function () {
    dialog.close('no');
  });
  dialog.addEventListener('close', function () {
    const done = answer;
    answer = null;
    if (done) done(dialog.returnValue === 'yes');
  });

  return function ask(q) {
    $('confirm-title').textContent = q.title;
    $('confirm-text').textContent = q.text;
    $('confirm-yes').textContent = q.yes;
    typed = q.typed;
    typedField.hidden = typed === undefined;
    typedInput.value = '';
    setFieldError(typedInput, typedError, '');
    if (typed !== undefined) typedLabel.textContent = 'Type "' + typed + '" to confirm';
    dialog.returnValue = '';
    return new Promise(function (resolve) {
      answer = resolve;
      dialog.showModal();
      (typed !== undefined ? typedInput : $('confirm-no')).focus();
    });
  };
}

export function initAdminUser() {
  const id = userIdOfPage();
  const title = $('user-title');
  const actionStatus = $('action-status');
  const actionError = $('action-error');
  const disableButton = $('action-disable', HTMLButtonElement);
  const enableButton = $('action-enable', HTMLButtonElement);
  const rolesButton = $('action-roles', HTMLButtonElement);
  const rolesForm = $('roles-form', HTMLFormElement);
  const rolesInput = $('roles-input', HTMLInputElement);
  const rolesError = $('roles-error');
  const resetBox = $('reset-link');
  const resetValue = $('reset-link-value', HTMLInputElement);
  const resetCopyStatus = $('reset-link-copy-status');
  const ask = confirmDialog();
  /** @type {UserDetail} */
  let user = {};
  let username = '';

  if (!id) {
    $('loading').textContent = 'No user is named in the address. Open one from the list of users.';
    return;
  }
  const base = '/auth/admin/users/' + encodeURIComponent(id);
  $('events-more', HTMLAnchorElement).href = withQuery('/admin/audit', { user: id });

  /** @param {string} message */
  function said(message) {
    actionError.textContent = '';
    actionStatus.textContent = message;
  }

  /**
   * @param {import('./api.js').Result} result
   * @param {string} what
   */
  function failed(result, what) {
    actionStatus.textContent = '';
    actionError.textContent = what + ' ' + problemMessage(result);
    actionError.focus();
  }

  // ---- rendering

  /** @param {UserDetail} u */
  function renderUser(u) {
    user = u;
    username = text(u.username) || String(u.id || id);
    title.textContent = username;
    document.title = username + ' · Admin · Gatehouse';
    $('user-username').textContent = username;
    $('user-id').textContent = String(u.id || id);
    const status = $('user-status');
    status.textContent = '';
    status.appendChild(u.disabled === true ? el('span', 'badge badge-off', 'Disabled') : el('span', 'badge', 'Active'));
    const roles = Array.isArray(u.roles) ? u.roles.map(String) : [];
    const rolesEl = $('user-roles');
    rolesEl.textContent = '';
    roles.forEach(function (r) {
      rolesEl.appendChild(el('code', 'chip', r));
      rolesEl.appendChild(document.createTextNode(' '));
    });
    if (!roles.length) rolesEl.textContent = 'None';
    const email = text(u.email);
    $('user-email').textContent = email ? email + (u.email_verified === true ? ' (verified)' : ' (not verified)') : 'None';
    $('user-password').textContent = (u.has_password === false ? 'None set (signs in another way)' : 'Set') +
      (u.password_change_required === true ? ' · must be changed at the next sign-in' : '');
    setTime($('user-created'), u.created_at);
    setTime($('user-updated'), u.updated_at);
    disableButton.hidden = u.disabled === true;
    enableButton.hidden = u.disabled !== true;
    rolesInput.value = roles.join(' ');
  }

  /**
   * @param {HTMLElement} where
   * @param {unknown} value
   */
  function setTime(where, value) {
    where.textContent = '';
    where.appendChild(when(value));
  }

  /**
   * Fills a list, or says it is empty.
   * @template T
   * @param {string} listId
   * @param {string} statusId
   * @param {T[]} items
   * @param {string} empty
   * @param {(item: T) => HTMLLIElement} render
   */
  function fill(listId, statusId, items, empty, render) {
    const list = $(listId);
    list.textContent = '';
    $(statusId).textContent = items.length ? '' : empty;
    items.forEach(function (item) {
      list.appendChild(render(item));
    });
  }

  /** @param {SessionRow} s */
  function sessionRow(s) {
    const name = text(s.device_name) || (s.kind === 'token' ? 'An app (refresh token)' : 'Unnamed device');
    const heading = rowTitle(name);
    heading.appendChild(el('span', 'chip', s.kind === 'token' ? 'app' : 'browser'));
    const meta = el('p', 'row-meta');
    addMeta(meta, 'Signed in', timeElement(s.created_at, 'absolute'));
    const seen = timeElement(s.last_seen_at, 'relative');
    addMeta(meta, seen ? 'Last seen' : 'Never seen since', seen);
    addMeta(meta, text(s.ip) ? 'IP ' + text(s.ip) : 'IP unknown', null);
    const end = rowButton('Sign out', 'small danger', 'Sign out ' + name, function (button) {
      endSession(String(s.id), name, button);
    });
    return row({ id: String(s.id), title: heading, meta: meta, action: end });
  }

  /** @param {TokenRow} t */
  function tokenRow(t) {
    const heading = rowTitle(text(t.name) || 'Unnamed token');
    (Array.isArray(t.scopes) ? t.scopes : []).forEach(function (scope) {
      heading.appendChild(el('code', 'chip', String(scope)));
    });
    const meta = el('p', 'row-meta');
    addMeta(meta, 'Created', timeElement(t.created_at, 'absolute'));
    const used = timeElement(t.last_used_at, 'relative');
    addMeta(meta, used ? 'Last used' : 'Never used', used);
    const expires = toDate(t.expires_at);
    if (!expires) addMeta(meta, 'Never expires', null);
    else addMeta(meta, expires.getTime() < Date.now() ? 'Expired' : 'Expires', timeElement(t.expires_at, 'absolute'));
    return row({ title: heading, meta: meta });
  }

  /** @param {IdentityRow} i */
  function identityRow(i) {
    const heading = rowTitle(text(i.provider) || 'Identity provider');
    const meta = el('p', 'row-meta');
    addMeta(meta, 'Linked', timeElement(i.created_at, 'absolute'));
    const used = timeElement(i.last_used_at, 'relative');
    addMeta(meta, used ? 'Last used' : 'Never used', used);
    const detail = [text(i.email), text(i.subject) ? 'subject ' + text(i.subject) : ''].filter(Boolean).join(' · ');
    return row({ title: heading, detail: detail, meta: meta });
  }

  /** @param {PasskeyRow} p */
  function passkeyRow(p) {
    const meta = el('p', 'row-meta');
    addMeta(meta, 'Added', timeElement(p.created_at, 'absolute'));
    const used = timeElement(p.last_used_at, 'relative');
    addMeta(meta, used ? 'Last used' : 'Never used', used);
    return row({ title: rowTitle(text(p.name) || 'Unnamed passkey'), meta: meta });
  }

  /** @param {AuditRow} ev */
  function eventRow(ev) {
    const heading = rowTitle(activityWords(ev.type));
    heading.appendChild(el('code', 'chip', String(ev.type || '')));
    const meta = el('p', 'row-meta');
    const at = timeElement(ev.at, 'absolute');
    if (at) addMeta(meta, '', at);
    if (text(ev.ip)) addMeta(meta, 'IP ' + text(ev.ip), null);
    if (text(ev.user_agent)) addMeta(meta, deviceName(ev.user_agent), null);
    return row({ warn: isWarning(ev.type), title: heading, detail: detailText(ev.detail), meta: meta });
  }

  /** @param {any} data */
  function render(data) {
    const d = data && typeof data === 'object' ? data : {};
    renderUser(d.user && typeof d.user === 'object' ? d.user : {});
    /** @param {unknown} v @returns {any[]} */
    const arr = function (v) {
      return Array.isArray(v) ? v : [];
    };
    fill('sessions-list', 'sessions-status', arr(d.sessions), 'Signed in nowhere.', sessionRow);
    fill('tokens-list', 'tokens-status', arr(d.api_tokens), 'No API tokens.', tokenRow);
    fill('identities-list', 'identities-status', arr(d.identities), 'No linked identities.', identityRow);
    const factors = d.factors && typeof d.factors === 'object' ? d.factors : {};
    $('factor-totp').textContent = factors.totp === true ? 'On' : 'Off';
    $('factor-recovery').textContent = typeof factors.recovery_codes === 'number' ? String(factors.recovery_codes) : '0';
    fill('passkeys-list', 'passkeys-status', arr(factors.passkeys), 'No passkeys.', passkeyRow);
    fill('events-list', 'events-status', arr(d.events), 'No events.', eventRow);
  }

  /** Reads the user again after an action. @returns {Promise<void>} */
  function reload() {
    return adminRequest('GET', base).then(function (result) {
      if (result === null) return;
      if (result.ok) render(result.data);
      else if (result.status === 404) gone(username + ' no longer exists.');
      else failed(result, 'The user could not be read again.');
    });
  }

  /** @param {string} message */
  function gone(message) {
    $('admin').hidden = true;
    const notice = $('user-deleted');
    const words = $('user-deleted-text');
    words.textContent = message;
    notice.hidden = false;
    words.focus();
  }

  // ---- actions

  /**
   * Runs a write after the admin confirmed it (when there is a question).
   * @param {HTMLButtonElement} button
   * @param {Question | null} question
   * @param {string} method
   * @param {string} url
   * @param {unknown} body
   * @param {(result: import('./api.js').Result) => void} done
   * @param {string} what what failed, said before the reason
   */
  function act(button, question, method, url, body, done, what) {
    const asked = question ? ask(question) : Promise.resolve(true);
    asked.then(function (yes) {
      if (!yes) {
        button.focus();
        return;
      }
      button.disabled = true;
      actionError.textContent = '';
      adminRequest(method, url, body).then(function (result) {
        button.disabled = false;
        if (result === null) return;
        if (result.ok) done(result);
        else if (result.status === 404) gone(username + ' no longer exists.');
        else failed(result, what);
      });
    });
  }

  disableButton.addEventListener('click', function () {
    act(disableButton, {
      title: 'Disable ' + username + '?',
      text: 'They are signed out on every device at once and cannot sign in until the account is enabled again. Their API tokens are refused meanwhile.',
      yes: 'Disable',
    }, 'POST', base + '/disable', undefined, function (result) {
      renderUser(result.data && typeof result.data === 'object' ? result.data : user);
      said(username + ' is disabled and signed out everywhere.');
      enableButton.focus();
      void reload();
    }, 'The account could not be disabled.');
  });

  enableButton.addEventListener('click', function () {
    act(enableButton, null, 'POST', base + '/enable', undefined, function (result) {
      renderUser(result.data && typeof result.data === 'object' ? result.data : user);
      said(username + ' is enabled: they can sign in again, and their API tokens work again.');
      disableButton.focus();
      void reload();
    }, 'The account could not be enabled.');
  });

  const signoutAll = $('action-signout-all', HTMLButtonElement);
  signoutAll.addEventListener('click', function () {
    act(signoutAll, {
      title: 'End all sessions of ' + username + '?',
      text: 'Every device and app signed in as ' + username + ' is signed out. They can sign in again.',
      yes: 'End all sessions',
    }, 'POST', base + '/signout-all', undefined, function (result) {
      const ended = result.data && typeof result.data.ended === 'number' ? result.data.ended : 0;
      said(ended === 1 ? '1 session was ended.' : ended + ' sessions were ended.');
      signoutAll.focus();
      void reload();
    }, 'The sessions could not be ended.');
  });

  const requirePassword = $('action-require-password', HTMLButtonElement);
  requirePassword.addEventListener('click', function () {
    act(requirePassword, {
      title: 'Require ' + username + ' to change their password?',
      text: 'At their next sign-in the right password no longer lets them in: they must choose a new one first.',
      yes: 'Require a change',
    }, 'POST', base + '/require-password-change', undefined, function (result) {
      if (result.data && typeof result.data === 'object') renderUser(result.data);
      said(username + ' must change their password at the next sign-in.');
      requirePassword.focus();
      void reload();
    }, 'The password change could not be required.');
  });

  const resetButton = $('action-reset-link', HTMLButtonElement);
  resetButton.addEventListener('click', function () {
    act(resetButton, {
      title: 'Create a password reset link for ' + username + '?',
      text: 'Whoever opens the link can set a new password for this account. A link made before stops working.',
      yes: 'Create the link',
    }, 'POST', base + '/reset-link', undefined, function (result) {
      const url = result.data && typeof result.data.url === 'string' ? result.data.url : '';
      resetValue.value = url;
      const expires = timeElement(result.data && result.data.expires_at, 'absolute');
      const expiry = $('reset-link-expiry');
      expiry.textContent = '';
      if (expires) {
        expiry.appendChild(document.createTextNode('It works once, until '));
        expiry.appendChild(expires);
        expiry.appendChild(document.createTextNode('.'));
      }
      resetCopyStatus.textContent = '';
      resetBox.hidden = false;
      said('A reset link was created. Copy it now: it is not shown again.');
      resetBox.focus();
      resetValue.select();
      void reload();
    }, 'The reset link could not be created.');
  });

  $('reset-link-copy').addEventListener('click', function () {
    copyShownSecret(resetValue, resetCopyStatus, 'link');
  });

  $('reset-link-done').addEventListener('click', function () {
    resetValue.value = '';
    resetBox.hidden = true;
    resetCopyStatus.textContent = '';
    resetButton.focus();
  });

  // Roles: "Edit roles" opens the form under the buttons.
  /** @param {boolean} open */
  function showRoles(open) {
    rolesForm.hidden = !open;
    rolesButton.setAttribute('aria-expanded', open ? 'true' : 'false');
    setFieldError(rolesInput, rolesError, '');
    if (open) {
      const roles = Array.isArray(user.roles) ? user.roles.map(String) : [];
      rolesInput.value = roles.join(' ');
      rolesInput.focus();
    }
  }
  rolesButton.addEventListener('click', function () {
    showRoles(rolesForm.hidden);
  });
  $('roles-cancel').addEventListener('click', function () {
    showRoles(false);
    rolesButton.focus();
  });
  rolesForm.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(rolesInput, rolesError, '');
    const roles = parseRoles(rolesInput.value);
    setBusy(rolesForm, true);
    adminRequest('PUT', base + '/roles', { roles: roles }).then(function (result) {
      setBusy(rolesForm, false);
      if (result === null) return;
      if (result.ok) {
        if (result.data && typeof result.data === 'object') renderUser(result.data);
        showRoles(false);
        said(roles.length ? 'Roles of ' + username + ': ' + roles.join(', ') + '.' : username + ' has no roles now.');
        rolesButton.focus();
        void reload();
      } else {
        // A bad role name, or 409 last_admin (your own admin role): the reason, at the field.
        setFieldError(rolesInput, rolesError, problemMessage(result));
        rolesInput.focus();
      }
    });
  });

  const deleteButton = $('action-delete', HTMLButtonElement);
  deleteButton.addEventListener('click', function () {
    act(deleteButton, {
      title: 'Delete ' + username + ' for good?',
      text: 'The account and everything of it (devices, tokens, sign-in methods, second factors) is removed and cannot be restored. ' +
        'The audit log keeps their events under a pseudonym; the username stays reserved for a while.',
      yes: 'Delete the account',
      typed: username,
    }, 'DELETE', base, undefined, function () {
      gone(username + ' was deleted.');
    }, 'The account could not be deleted.');
  });

  /**
   * @param {string} sid
   * @param {string} name
   * @param {HTMLButtonElement} button
   */
  function endSession(sid, name, button) {
    act(button, {
      title: 'Sign out ' + name + '?',
      text: 'This device of ' + username + ' is signed out. They can sign in again.',
      yes: 'Sign out',
    }, 'DELETE', '/auth/admin/sessions/' + encodeURIComponent(sid), undefined, function () {
      said(name + ' was signed out.');
      reload().then(function () {
        $('sessions-title').focus();
      });
    }, 'The device could not be signed out.');
  }

  loadPage(base, render);
}
