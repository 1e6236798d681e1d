// @ts-check
/**
 * Row lists of the account page: the devices (sessions) list and the API tokens list are
 * one `rowList` each (load, render, remove a row); the activity list uses the same rows.
 *
 * A row: <li class="row"><div class="row-main"><p class="row-title">…</p>[<p class="row-detail">]
 * <p class="row-meta">…</p></div>[button]</li>
 */
import { el } from './dom.js';
import { listOf, problemMessage, request } from './api.js';

/**
 * A row title holding the row's name: <p class="row-title"><span>name</span></p>; badges or
 * chips are appended by the caller.
 * @param {string} name
 * @returns {HTMLParagraphElement}
 */
export function rowTitle(name) {
  const title = el('p', 'row-title');
  title.appendChild(el('span', null, name));
  return title;
}

/**
 * @typedef {object} RowParts
 * @property {HTMLElement} title the row's title (see rowTitle)
 * @property {HTMLElement} meta its meta line (class "row-meta")
 * @property {string} [detail] a line of detail between them
 * @property {string} [id] the row's data-id
 * @property {boolean} [warn] marks the row as a warning
 * @property {HTMLElement} [action] a button after the text
 */

/**
 * One row of a list.
 * @param {RowParts} parts
 * @returns {HTMLLIElement}
 */
export function row(parts) {
  const li = el('li', 'row' + (parts.warn ? ' warn' : ''));
  if (parts.id !== undefined) li.dataset.id = parts.id;
  const main = el('div', 'row-main');
  main.appendChild(parts.title);
  if (parts.detail) main.appendChild(el('p', 'row-detail', parts.detail));
  main.appendChild(parts.meta);
  li.appendChild(main);
  if (parts.action) li.appendChild(parts.action);
  return li;
}

/**
 * A button for a row, labelled for screen readers with what it acts on.
 * @param {string} label
 * @param {string} className
 * @param {string} ariaLabel
 * @param {(button: HTMLButtonElement) => void} onClick
 * @returns {HTMLButtonElement}
 */
export function rowButton(label, className, ariaLabel, onClick) {
  const button = el('button', className, label);
  button.type = 'button';
  button.setAttribute('aria-label', ariaLabel);
  button.addEventListener('click', function () {
    onClick(button);
  });
  return button;
}

/**
 * @template T
 * @typedef {object} RowListSpec
 * @property {HTMLElement} list the <ul>
 * @property {HTMLElement} status its live status line
 * @property {HTMLElement} error where a failed removal is said
 * @property {HTMLElement} heading focused after a removal
 * @property {string} url the collection (GET lists it, DELETE url/id removes one)
 * @property {string} key the field of the list answer that holds the array
 * @property {string} empty said when the list is empty
 * @property {string} loadFailed said (before the reason) when it could not be loaded
 * @property {(item: T, list: RowList) => HTMLLIElement} render one row
 * @property {(a: T, b: T) => number} [order] sorts the items before they are shown
 * @property {(result: { status: number }) => boolean} gone true when the session is over (the page says so)
 * @property {() => void} [changed] called after a row was removed
 */

/**
 * @typedef {object} RowList
 * @property {(status?: string) => Promise<void>} load fetches and shows the list, with `status` said after
 * @property {(id: string, button: HTMLButtonElement, done: string) => void} remove deletes a row: reloads the list saying `done`
 */

/**
 * A list of the signed-in user's things (devices, API tokens): loads and renders it, and
 * removes one on request.
 * @template T
 * @param {RowListSpec<T>} spec
 * @returns {RowList}
 */
export function rowList(spec) {
  /** @type {RowList} */
  const self = { load: load, remove: remove };

  /**
   * @param {T[]} items
   * @param {string} [status]
   */
  function render(items, status) {
    spec.list.textContent = '';
    spec.status.textContent = status || (items.length ? '' : spec.empty);
    if (spec.order) items.sort(spec.order);
    items.forEach(function (item) {
      spec.list.appendChild(spec.render(item, self));
    });
  }

  /** @param {string} [status] */
  function load(status) {
    return request('GET', spec.url).then(function (result) {
      if (result.ok) render(listOf(result.data, spec.key), status);
      else if (!spec.gone(result)) spec.status.textContent = spec.loadFailed + ' ' + problemMessage(result);
    });
  }

  /**
   * @param {string} id
   * @param {HTMLButtonElement} button
   * @param {string} done
   */
  function remove(id, button, done) {
    button.disabled = true;
    spec.error.textContent = '';
    request('DELETE', spec.url + '/' + encodeURIComponent(id)).then(function (result) {
      if (result.ok || result.status === 404) {
        load(done).then(function () {
          spec.heading.focus();
        });
        if (spec.changed) spec.changed();
      } else if (!spec.gone(result)) {
        button.disabled = false;
        spec.error.textContent = problemMessage(result);
      }
    });
  }

  return self;
}
