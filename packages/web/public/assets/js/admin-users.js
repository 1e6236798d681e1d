// @ts-check
/**
 * The users table of the admin pages (admin.html, `/admin`): search by username prefix, role and
 * status filters, newest first, next/previous pages (GET /auth/admin/users). The filters live in
 * the address (`?q=&role=&disabled=&limit=`), so Back from a user's page and a reload keep them.
 */
import { $, el, text } from './dom.js';
import { setBusy } from './forms.js';
import { adminRequest, cell, cursorPager, loadPage, sayFailure, userPageUrl, when, withQuery } from './admin-shared.js';

/**
 * A user as the admin API lists it (UserRow).
 * @typedef {{ id?: unknown, username?: unknown, roles?: unknown, disabled?: unknown, created_at?: unknown, updated_at?: unknown }} UserRow
 */

const LIMITS = ['10', '25', '50', '100'];

export function initAdminUsers() {
  const form = $('users-filter', HTMLFormElement);
  const q = $('users-q', HTMLInputElement);
  const role = $('users-role', HTMLInputElement);
  const disabled = $('users-disabled', HTMLSelectElement);
  const limit = $('users-limit', HTMLSelectElement);
  const body = $('users-body');
  const status = $('users-status');
  const error = $('users-error');

  // The filters of the address, when it has any.
  const params = new URLSearchParams(window.location.search);
  q.value = params.get('q') || '';
  role.value = params.get('role') || '';
  const wantDisabled = params.get('disabled');
  disabled.value = wantDisabled === 'true' || wantDisabled === 'false' ? wantDisabled : '';
  const wantLimit = params.get('limit');
  if (wantLimit !== null && LIMITS.indexOf(wantLimit) !== -1) limit.value = wantLimit;

  const pager = cursorPager({
    prev: $('users-prev', HTMLButtonElement),
    next: $('users-next', HTMLButtonElement),
    label: $('users-page'),
    load: function () {
      load(true);
    },
  });

  /** The filters as the API (and this page's address) take them. */
  function filters() {
    return { q: q.value.trim(), role: role.value.trim(), disabled: disabled.value, limit: limit.value };
  }

  /** @param {UserRow[]} users */
  function render(users) {
    body.textContent = '';
    users.forEach(function (u) {
      const id = String(u.id);
      const name = text(u.username) || id;
      const tr = el('tr');
      if (u.disabled === true) tr.className = 'is-disabled';
      const link = el('a', null, name);
      link.href = userPageUrl(id);
      tr.appendChild(cell('Username', link));
      const roles = Array.isArray(u.roles) ? u.roles : [];
      const rolesBox = el('span', 'chips');
      roles.forEach(function (r) {
        rolesBox.appendChild(el('code', 'chip', String(r)));
      });
      if (!roles.length) rolesBox.appendChild(el('span', 'muted', 'none'));
      tr.appendChild(cell('Roles', rolesBox));
      tr.appendChild(cell('Status', u.disabled === true ? el('span', 'badge badge-off', 'Disabled') : el('span', 'badge', 'Active')));
      tr.appendChild(cell('Created', when(u.created_at)));
      body.appendChild(tr);
    });
  }

  /**
   * Loads the page of users the pager points at.
   * @param {boolean} paging from Next/Previous (focus stays on that button; the status says the page)
   * @returns {Promise<void>}
   */
  function load(paging) {
    error.textContent = '';
    setBusy(form, true);
    const f = filters();
    const url = withQuery('/auth/admin/users', { q: f.q, role: f.role, disabled: f.disabled, limit: f.limit, cursor: pager.cursor() });
    return adminRequest('GET', url).then(function (result) {
      setBusy(form, false);
      if (result === null) return;
      if (!result.ok) {
        sayFailure(error, result, 'The users could not be loaded.');
        return;
      }
      show(result.data, paging);
    });
  }

  /**
   * @param {any} data
   * @param {boolean} paging
   */
  function show(data, paging) {
    const items = data && Array.isArray(data.items) ? data.items : [];
    render(items);
    pager.shown(data ? data.next_cursor : null, items.length);
    const f = filters();
    const filtered = f.q || f.role || f.disabled;
    status.textContent = items.length === 0
      ? (filtered ? 'No users match these filters.' : 'No users yet.')
      : (paging ? $('users-page').textContent + ': ' : '') + items.length + (items.length === 1 ? ' user' : ' users') + (filtered ? ' matching.' : '.');
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    const f = filters();
    history.replaceState(null, '', withQuery('/admin', { q: f.q, role: f.role, disabled: f.disabled, limit: f.limit === '50' ? '' : f.limit }));
    pager.reset();
    load(false);
  });

  const f = filters();
  loadPage(withQuery('/auth/admin/users', { q: f.q, role: f.role, disabled: f.disabled, limit: f.limit }), function (data) {
    show(data, false);
  });
}
