// @ts-check
/**
 * The audit log of the admin pages (admin-audit.html, `/admin/audit`): every user's events, newest
 * first, filtered by time range, user and type (GET /auth/admin/audit), next/previous pages, and
 * an export link (GET /auth/admin/audit/export, NDJSON, oldest first) with the same filters. The
 * filters live in the address (`?from=&to=&user=&type=`, times in ISO 8601), so a user's page can
 * link to their events.
 */
import { $, deviceName, el, text } from './dom.js';
import { checkFields, setBusy, setFieldError } from './forms.js';
import { activityTypes, activityWords } from './account.js';
import { adminRequest, cell, cursorPager, detailText, loadPage, sayFailure, userPageUrl, when, withQuery } from './admin-shared.js';

/**
 * An event as the admin API lists it (AuditRow).
 * @typedef {{ id?: unknown, at?: unknown, type?: unknown, user_id?: unknown, username?: unknown, ip?: unknown,
 *   device_id?: unknown, user_agent?: unknown, detail?: unknown }} AuditRow
 */

/**
 * A datetime-local value ("2026-12-06T20:15", local time) as ISO 8601, '' when empty, null when not a time.
 * @param {string} value
 * @returns {string | null}
 */
export function isoOfLocal(value) {
  if (!value) return '';
  const date = new Date(value);
  return isNaN(date.getTime()) ? null : date.toISOString();
}

/**
 * An ISO 8601 time as a datetime-local value (local time, minutes), '' when not a time.
 * @param {string | null} iso
 * @returns {string}
 */
export function localOfIso(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (isNaN(date.getTime())) return '';
  /** @param {number} n */
  const two = function (n) {
    return (n < 10 ? '0' : '') + n;
  };
  return date.getFullYear() + '-' + two(date.getMonth() + 1) + '-' + two(date.getDate()) + 'T' + two(date.getHours()) + ':' + two(date.getMinutes());
}

export function initAdminAudit() {
  const form = $('audit-filter', HTMLFormElement);
  const from = $('audit-from', HTMLInputElement);
  const to = $('audit-to', HTMLInputElement);
  const user = $('audit-user', HTMLInputElement);
  const type = $('audit-type', HTMLInputElement);
  const fromError = $('audit-from-error');
  const toError = $('audit-to-error');
  const exportLink = $('audit-export', HTMLAnchorElement);
  const body = $('audit-body');
  const status = $('audit-status');
  const error = $('audit-error');

  const types = $('audit-type-list');
  // Every event type has words on the account page (account.js ACTIVITY), so its list is the whole list.
  activityTypes().sort().forEach(function (t) {
    const option = el('option');
    option.value = t;
    types.appendChild(option);
  });

  const params = new URLSearchParams(window.location.search);
  from.value = localOfIso(params.get('from'));
  to.value = localOfIso(params.get('to'));
  user.value = params.get('user') || '';
  type.value = params.get('type') || '';

  /** The filters as the API takes them (times in ISO 8601). */
  function filters() {
    return { from: isoOfLocal(from.value) || '', to: isoOfLocal(to.value) || '', user: user.value.trim(), type: type.value.trim() };
  }

  function updateExport() {
    exportLink.href = withQuery('/auth/admin/audit/export', filters());
  }

  const pager = cursorPager({
    prev: $('audit-prev', HTMLButtonElement),
    next: $('audit-next', HTMLButtonElement),
    label: $('audit-page'),
    load: function () {
      load(true);
    },
  });

  /** @param {AuditRow[]} events */
  function render(events) {
    body.textContent = '';
    events.forEach(function (ev) {
      const tr = el('tr');
      tr.appendChild(cell('Time', when(ev.at)));
      const what = el('span', null, activityWords(ev.type));
      what.appendChild(document.createTextNode(' '));
      what.appendChild(el('code', 'chip', String(ev.type || '')));
      tr.appendChild(cell('Event', what));
      const id = text(ev.user_id);
      let who = null;
      if (id && id.indexOf('deleted:') !== 0) {
        const link = el('a', null, text(ev.username) || id);
        link.href = userPageUrl(id);
        who = link;
      } else if (id) {
        // A deleted user's events keep a pseudonym (docs/data-deletion.md): it filters them here.
        const link = el('a', 'muted', 'Deleted user ' + id.slice('deleted:'.length));
        link.href = withQuery('/admin/audit', { user: id });
        link.title = 'All events of this deleted account';
        who = link;
      }
      tr.appendChild(cell('User', who || '—'));
      tr.appendChild(cell('IP', text(ev.ip) || '—'));
      tr.appendChild(cell('Device', text(ev.user_agent) ? deviceName(ev.user_agent) : '—'));
      tr.appendChild(cell('Detail', detailText(ev.detail) || '—'));
      body.appendChild(tr);
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
    status.textContent = items.length === 0
      ? 'No events match these filters.'
      : (paging ? $('audit-page').textContent + ': ' : '') + items.length + (items.length === 1 ? ' event.' : ' events.');
  }

  /**
   * @param {boolean} paging
   * @returns {Promise<void>}
   */
  function load(paging) {
    error.textContent = '';
    setBusy(form, true);
    const url = withQuery('/auth/admin/audit', Object.assign(filters(), { cursor: pager.cursor() }));
    return adminRequest('GET', url).then(function (result) {
      setBusy(form, false);
      if (result === null) return;
      if (!result.ok) {
        sayFailure(error, result, 'The events could not be loaded.');
        return;
      }
      show(result.data, paging);
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(from, fromError, '');
    setFieldError(to, toError, '');
    const f = isoOfLocal(from.value);
    const t = isoOfLocal(to.value);
    const ok = checkFields([
      [from, fromError, f === null && 'Enter a date and time.'],
      [to, toError, (t === null && 'Enter a date and time.') || (!!f && !!t && t < f && 'The end is before the start.')],
    ]);
    if (!ok) return;
    history.replaceState(null, '', withQuery('/admin/audit', filters()));
    updateExport();
    pager.reset();
    load(false);
  });

  // A sign-in may have grown stale since the page loaded: a small read first, so the export
  // never downloads a refusal; the guard's answer (re-authentication, sign-in) comes as on any call.
  exportLink.addEventListener('click', function (event) {
    event.preventDefault();
    error.textContent = '';
    const href = exportLink.href;
    adminRequest('GET', withQuery('/auth/admin/audit', Object.assign(filters(), { limit: '1' }))).then(function (result) {
      if (result === null) return;
      if (!result.ok) {
        sayFailure(error, result, 'The export could not start.');
        return;
      }
      status.textContent = 'The export is downloading (NDJSON, oldest first).';
      // An attachment (Content-Disposition): the browser downloads it and stays on this page.
      window.location.assign(href);
    });
  });

  updateExport();
  loadPage(withQuery('/auth/admin/audit', filters()), function (data) {
    show(data, false);
  });
}
