// @ts-check
/**
 * The account page (account.html): who is signed in, the devices (sessions) list and the
 * sign-out buttons, the recent activity; the password form, the API tokens and the passkeys
 * are in account-password.js, account-tokens.js and account-passkeys.js.
 */
import { $, addMeta, deviceName, el, text, timeElement } from './dom.js';
import { listOf, problemMessage, request } from './api.js';
import { row, rowButton, rowList, rowTitle } from './list.js';
import { endsSession, requireUser, sessionEnded } from './session.js';
import { initEmail } from './account-email.js';
import { initPasswordForm } from './account-password.js';
import { initUsernameForm } from './account-username.js';
import { initTokens } from './account-tokens.js';
import { initSignInMethods } from './account-methods.js';
import { initMfa } from './account-mfa.js';
import { initPasskeys } from './account-passkeys.js';

/** @type {Record<string, string>} */
const ACTIVITY = {
  'signup': 'Account created',
  'signin.success': 'Signed in',
  'signin.failure': 'Failed sign-in attempt',
  'signin.locked': 'Sign-in paused after too many failed attempts',
  'signout': 'Signed out',
  'signout_all': 'Signed out everywhere',
  'session.removed': 'A device was signed out',
  'password.changed': 'Password changed',
  'refresh.reuse_detected': 'An old sign-in token was reused; that device was signed out',
  'api_token.created': 'API token created',
  'api_token.deleted': 'API token deleted',
  'identity.linked': 'Sign-in method linked',
  'identity.unlinked': 'Sign-in method removed',
  'password.set': 'Password set',
  'username.changed': 'Username changed',
  'mfa.totp_added': 'Authenticator app turned on',
  'mfa.totp_removed': 'Authenticator app removed',
  'mfa.recovery_codes_generated': 'New recovery codes made',
  'mfa.recovery_code_used': 'A recovery code was used to sign in',
  'signin.mfa_failure': 'Wrong sign-in code',
  'session.reauthenticated': 'Identity confirmed again on a device',
  'passkey.registered': 'Passkey added',
  'passkey.renamed': 'Passkey renamed',
  'passkey.removed': 'Passkey removed',
  'admin.action': 'Admin action',
  'account.disabled': 'Account disabled by an administrator',
  'account.enabled': 'Account enabled again by an administrator',
  'account.deleted': 'Account deleted',
  'roles.changed': 'Roles changed by an administrator',
  'email.added': 'Email address added',
  'email.verified': 'Email address verified',
  'email.removed': 'Email address removed',
  'password.reset_requested': 'Password reset requested',
  'password.reset': 'Password reset with a link',
  'password.reset_link_created': 'An admin made a password reset link',
  'password.change_required': 'An admin asked for a new password',
};
const ACTIVITY_WARN = ['signin.failure', 'signin.locked', 'refresh.reuse_detected'];
const ACTIVITY_SHOWN = 25;

/**
 * A session (device) as GET /auth/sessions lists it.
 * @typedef {{ id?: unknown, device_id?: unknown, device_name?: unknown, current?: boolean, created_at?: unknown, last_seen_at?: unknown }} Device
 */

/**
 * An event as GET /auth/activity lists it.
 * @typedef {{ type?: unknown, detail?: unknown, at?: unknown, ip?: unknown, device_id?: unknown, user_agent?: unknown }} ActivityEvent
 */

/**
 * The words for an event type (the admin pages use them too).
 * @param {unknown} type
 * @returns {string}
 */
export function activityWords(type) {
  const known = typeof type === 'string' ? ACTIVITY[type] : undefined;
  if (known) return known;
  const words = String(type || 'event').replace(/[._]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * The event types that have words (for the audit log's type filter).
 * @returns {string[]}
 */
export function activityTypes() {
  return Object.keys(ACTIVITY);
}

/**
 * Whether an event type is shown as a warning.
 * @param {unknown} type
 * @returns {boolean}
 */
export function isWarning(type) {
  return typeof type === 'string' && ACTIVITY_WARN.indexOf(type) !== -1;
}

/**
 * Devices first: this one, then the most recently seen.
 * @param {Device} a
 * @param {Device} b
 * @returns {number}
 */
function deviceOrder(a, b) {
  if (a.current !== b.current) return a.current ? -1 : 1;
  return String(b.last_seen_at || '').localeCompare(String(a.last_seen_at || ''));
}

export function initAccount() {
  const content = $('account');
  const usernameEl = $('username');
  const rolesEl = $('roles');
  const devicesStatus = $('devices-status');
  const devicesError = $('devices-error');
  const signoutButton = $('signout', HTMLButtonElement);
  const signoutAll = $('signout-all');
  const confirmBox = $('signout-all-confirm');
  const activityList = $('activity-list');
  const activityStatus = $('activity-status');
  /** Device names by device id, to label the activity list. @type {Record<string, string>} */
  const deviceNames = {};
  const gone = endsSession(content);

  // ---- devices

  /** @type {import('./list.js').RowList} */
  const devices = rowList({
    list: $('devices-list'),
    status: devicesStatus,
    error: devicesError,
    heading: $('devices-title'),
    url: '/auth/sessions',
    key: 'sessions',
    empty: 'No devices are signed in.',
    loadFailed: 'Your devices could not be loaded.',
    order: deviceOrder,
    gone: gone,
    changed: loadActivity,
    /** @param {Device} s */
    render: function (s, list) {
      const name = text(s.device_name) || 'Unnamed device';
      if (s.device_id) deviceNames[String(s.device_id)] = name;
      const title = rowTitle(name);
      if (s.current) title.appendChild(el('span', 'badge', 'This device'));
      const meta = el('p', 'row-meta');
      addMeta(meta, 'Signed in', timeElement(s.created_at, 'absolute'));
      addMeta(meta, 'Last active', timeElement(s.last_seen_at, 'relative'));
      const signOut = s.current ? undefined : rowButton('Sign out', 'small', 'Sign out ' + name, function (button) {
        list.remove(String(s.id), button, name + ' was signed out.');
      });
      return row({ id: String(s.id), title: title, meta: meta, action: signOut });
    },
  });

  signoutAll.addEventListener('click', function () {
    confirmBox.hidden = false;
    signoutAll.setAttribute('aria-expanded', 'true');
    $('signout-all-yes').focus();
  });
  $('signout-all-no').addEventListener('click', function () {
    confirmBox.hidden = true;
    signoutAll.setAttribute('aria-expanded', 'false');
    signoutAll.focus();
  });
  $('signout-all-yes').addEventListener('click', function () {
    const yes = $('signout-all-yes', HTMLButtonElement);
    yes.disabled = true;
    devicesError.textContent = '';
    request('POST', '/auth/signout-all').then(function (result) {
      yes.disabled = false;
      if (result.ok || result.status === 401) {
        sessionEnded(content, 'You have been signed out on every device, including this one.');
      } else {
        devicesError.textContent = problemMessage(result);
      }
    });
  });

  signoutButton.addEventListener('click', function () {
    signoutButton.disabled = true;
    request('POST', '/auth/signout').then(function (result) {
      signoutButton.disabled = false;
      if (result.ok || result.status === 401) sessionEnded(content, 'You have been signed out.');
      else devicesError.textContent = problemMessage(result);
    });
  });

  // ---- password and API tokens

  const usernameForm = initUsernameForm(usernameEl, gone, loadActivity);
  initPasswordForm(usernameEl, gone, function () {
    devices.load();
    tokens.load();
    loadActivity();
  });
  const tokens = initTokens(gone, loadActivity);
  const email = initEmail(usernameEl, gone, loadActivity);
  const methods = initSignInMethods(usernameEl, gone, loadActivity);
  const mfa = initMfa(usernameEl, gone, loadActivity);
  const passkeys = initPasskeys(usernameEl, gone, loadActivity);

  // ---- activity

  /** @param {ActivityEvent[]} events */
  function renderActivity(events) {
    activityList.textContent = '';
    activityStatus.textContent = events.length ? '' : 'No activity yet.';
    events.slice(0, ACTIVITY_SHOWN).forEach(function (ev) {
      const detail = typeof ev.detail === 'string' ? ev.detail
        : (ev.detail && typeof ev.detail === 'object' && 'name' in ev.detail && typeof ev.detail.name === 'string' ? ev.detail.name
          // Sign-ins, links and unlinks through an identity provider name it (issue 15).
          : (ev.detail && typeof ev.detail === 'object' && 'provider' in ev.detail && typeof ev.detail.provider === 'string' ? 'With ' + ev.detail.provider
            // A username change names the old and the new name.
            : (ev.detail && typeof ev.detail === 'object' && 'old' in ev.detail && 'new' in ev.detail ? 'From ' + text(ev.detail.old) + ' to ' + text(ev.detail.new)
              // A sign-in with a passkey (issue 17) says so.
              : (ev.detail && typeof ev.detail === 'object' && 'via' in ev.detail && ev.detail.via === 'passkey' ? 'With a passkey' : ''))));
      const meta = el('p', 'row-meta');
      const at = timeElement(ev.at, 'relative');
      if (at) addMeta(meta, '', at);
      if (text(ev.ip)) addMeta(meta, 'IP ' + text(ev.ip), null);
      const device = (ev.device_id ? deviceNames[String(ev.device_id)] : '') || (text(ev.user_agent) ? deviceName(ev.user_agent) : '');
      if (device) addMeta(meta, device, null);
      activityList.appendChild(row({
        warn: isWarning(ev.type),
        title: el('p', 'row-title', activityWords(ev.type)),
        detail: detail,
        meta: meta,
      }));
    });
    if (events.length > ACTIVITY_SHOWN) {
      activityStatus.textContent = 'Showing the latest ' + ACTIVITY_SHOWN + ' events.';
    }
  }

  /** @returns {Promise<void>} */
  function loadActivity() {
    return request('GET', '/auth/activity').then(function (result) {
      if (result.ok) renderActivity(listOf(result.data, 'events'));
      else if (result.status === 404 || result.status === 405 || result.status === 501) {
        activityList.textContent = '';
        activityStatus.textContent = 'Activity is not available.';
      } else if (!gone(result)) {
        activityStatus.textContent = 'Your activity could not be loaded. ' + problemMessage(result);
      }
    });
  }

  requireUser(function (user) {
    usernameEl.textContent = typeof user.username === 'string' ? user.username : '';
    $('password-username', HTMLInputElement).value = usernameEl.textContent;
    $('set-password-username', HTMLInputElement).value = usernameEl.textContent;
    usernameForm.show(usernameEl.textContent);
    const roles = Array.isArray(user.roles) ? user.roles.filter(function (r) { return typeof r === 'string'; }) : [];
    rolesEl.textContent = roles.length ? 'Roles: ' + roles.join(', ') : 'No special roles.';
    // The admin pages, for admins only (the admin API checks the role again on every call).
    $('admin-link').hidden = roles.indexOf('admin') === -1;
    content.hidden = false;
    devicesStatus.textContent = 'Loading your devices…';
    $('tokens-status').textContent = 'Loading your tokens…';
    activityStatus.textContent = 'Loading your activity…';
    // Devices first: their names label the activity list.
    devices.load().then(loadActivity);
    tokens.load();
    methods.load();
    email.load();
    mfa.load();
    $('passkeys-status').textContent = 'Loading your passkeys…';
    passkeys.load();
  });
}
