import { describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPES } from '../../server/src/stores/types.js';

// The admin pages' logic that needs no page: node loads the modules as they are served (nothing
// touches the DOM at load time).
interface Button {
  disabled: boolean;
  click(): void;
  addEventListener(type: 'click', fn: () => void): void;
}
interface Pager {
  cursor(): string | null;
  reset(): void;
  shown(nextCursor: unknown, count: number): void;
}
interface Shared {
  cursorPager(parts: { prev: Button; next: Button; label: { textContent: string }; load: () => void }): Pager;
  withQuery(path: string, params: Record<string, string | null | undefined>): string;
  detailText(detail: unknown): string;
  userPageUrl(id: string): string;
}
const shared = (await import(new URL('../public/assets/js/admin-shared.js', import.meta.url).href)) as Shared;
const user = (await import(new URL('../public/assets/js/admin-user.js', import.meta.url).href)) as { parseRoles(value: string): string[] };
const account = (await import(new URL('../public/assets/js/account.js', import.meta.url).href)) as { activityTypes(): string[] };
const audit = (await import(new URL('../public/assets/js/admin-audit.js', import.meta.url).href)) as {
  isoOfLocal(value: string): string | null;
  localOfIso(iso: string | null): string;
};

function button(): Button {
  const listeners: (() => void)[] = [];
  return {
    disabled: false,
    click() {
      if (!this.disabled) for (const fn of listeners) fn();
    },
    addEventListener(_type, fn) {
      listeners.push(fn);
    },
  };
}

describe('admin pages: paging over opaque cursors', () => {
  it('Next follows next_cursor; Previous goes back through the cursors of the earlier pages; reset starts over', () => {
    const prev = button();
    const next = button();
    const label = { textContent: '' };
    const loads: (string | null)[] = [];
    const pager = shared.cursorPager({ prev, next, label, load: () => loads.push(pager.cursor()) });
    // Page 1 (cursor null) says there is a next page at "c2".
    pager.shown('c2', 10);
    expect([label.textContent, prev.disabled, next.disabled]).toEqual(['Page 1', true, false]);
    next.click();
    expect(loads).toEqual(['c2']);
    pager.shown('c3', 10);
    expect([label.textContent, prev.disabled, next.disabled]).toEqual(['Page 2', false, false]);
    next.click();
    pager.shown(null, 4); // the last page
    expect([label.textContent, prev.disabled, next.disabled]).toEqual(['Page 3', false, true]);
    next.click(); // disabled: nothing happens
    prev.click();
    expect(loads).toEqual(['c2', 'c3', 'c2']);
    pager.shown('c3', 10);
    expect(label.textContent).toBe('Page 2');
    prev.click();
    expect(loads.at(-1)).toBeNull(); // back on the first page: no cursor
    pager.shown('c2', 10);
    expect([label.textContent, prev.disabled]).toEqual(['Page 1', true]);
    next.click();
    pager.shown('c3', 10);
    pager.reset();
    expect([pager.cursor(), prev.disabled, next.disabled]).toEqual([null, true, true]);
  });
});

describe('admin pages: small helpers', () => {
  it('builds query strings from the filters that have a value', () => {
    expect(shared.withQuery('/auth/admin/users', { q: 'al ice', role: '', disabled: null, limit: '10', cursor: undefined })).toBe('/auth/admin/users?q=al+ice&limit=10');
    expect(shared.withQuery('/admin', { q: '' })).toBe('/admin');
    expect(shared.userPageUrl('a/b?c')).toBe('/admin/user?id=a%2Fb%3Fc');
  });

  it('reads roles typed with spaces or commas, each once', () => {
    expect(user.parseRoles(' admin, support  auditor,admin ')).toEqual(['admin', 'support', 'auditor']);
    expect(user.parseRoles('  ')).toEqual([]);
  });

  it('turns the time filters into ISO 8601 and back, refusing what is not a time', () => {
    const iso = audit.isoOfLocal('2026-03-04T05:06');
    expect(iso).toBe(new Date(2026, 2, 4, 5, 6).toISOString());
    expect(audit.localOfIso(iso)).toBe('2026-03-04T05:06');
    expect(audit.isoOfLocal('')).toBe('');
    expect(audit.isoOfLocal('not a time')).toBeNull();
    expect(audit.localOfIso('nonsense')).toBe('');
  });

  it('has words for every audit event type: the audit log offers them all as its type filter', () => {
    expect([...account.activityTypes()].sort()).toEqual([...AUDIT_EVENT_TYPES].sort());
  });

  it('says an event detail in one line', () => {
    expect(shared.detailText({ action: 'users.disable', target: 'u1', by: null })).toBe('action: users.disable · target: u1 · by: null');
    expect(shared.detailText({ roles: ['a', 'b'] })).toBe('roles: ["a","b"]');
    expect(shared.detailText(null)).toBe('');
    expect(shared.detailText('text')).toBe('text');
  });
});
