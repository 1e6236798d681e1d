// @ts-check
/** The notes page (notes.html): add, edit and delete notes through the notes service. */
import { $, addMeta, el, timeElement } from './dom.js';
import { noteList, problemMessage, request } from './api.js';
import { setBusy, setFieldError } from './forms.js';
import { endsSession, requireUser } from './session.js';

/**
 * A note as the notes service lists it.
 * @typedef {{ id?: unknown, text?: unknown, created_at?: unknown, updated_at?: unknown }} Note
 */

/**
 * The start of a note, for button labels and the delete question.
 * @param {string} body
 * @returns {string}
 */
function preview(body) {
  return body.length > 40 ? body.slice(0, 40) + '…' : body;
}

export function initNotes() {
  const content = $('notes');
  const noteForm = $('note-form', HTMLFormElement);
  const noteText = $('note-text', HTMLTextAreaElement);
  const noteError = $('note-error');
  const notesStatus = $('notes-status');
  const notesList = $('notes-list');
  const gone = endsSession(content);

  /**
   * @param {string} id
   * @param {string} selector
   */
  function focusNote(id, selector) {
    for (const item of Array.from(notesList.children)) {
      if (item instanceof HTMLElement && item.dataset.id === id) {
        const target = item.querySelector(selector);
        if (target instanceof HTMLElement) target.focus();
        return;
      }
    }
    noteText.focus();
  }

  /**
   * Turns a note into a small form to edit it (Escape or Cancel leaves it).
   * @param {HTMLLIElement} li
   * @param {string} id
   * @param {string} body
   */
  function startEdit(li, id, body) {
    const view = /** @type {HTMLElement} */ (li.querySelector('.note-view'));
    const actions = /** @type {HTMLElement} */ (li.querySelector('.note-actions'));
    view.hidden = true;
    actions.hidden = true;
    const form = el('form', 'note-edit');
    form.noValidate = true;
    const fieldId = 'edit-' + id.replace(/[^A-Za-z0-9_-]/g, '');
    const label = el('label', 'visually-hidden', 'Edit note');
    label.htmlFor = fieldId;
    const area = el('textarea');
    area.id = fieldId;
    area.rows = 3;
    area.maxLength = 10000;
    area.value = body;
    const error = el('p', 'error');
    error.id = fieldId + '-error';
    error.setAttribute('role', 'alert');
    area.setAttribute('aria-describedby', error.id);
    const buttons = el('div', 'actions');
    const save = el('button', 'small primary', 'Save');
    save.type = 'submit';
    save.dataset.busyLabel = 'Saving…';
    const cancel = el('button', 'small', 'Cancel');
    cancel.type = 'button';
    buttons.appendChild(save);
    buttons.appendChild(cancel);
    form.appendChild(label);
    form.appendChild(area);
    form.appendChild(error);
    form.appendChild(buttons);
    li.appendChild(form);
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);

    function stop() {
      li.removeChild(form);
      view.hidden = false;
      actions.hidden = false;
      const edit = actions.querySelector('.note-edit-button');
      if (edit instanceof HTMLElement) edit.focus();
    }
    cancel.addEventListener('click', stop);
    form.addEventListener('keydown', function (event) {
      if (event.key === 'Escape') {
        event.preventDefault();
        stop();
      }
    });
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      setFieldError(area, error, '');
      if (!area.value.trim()) {
        setFieldError(area, error, 'A note cannot be empty. Delete it instead.');
        area.focus();
        return;
      }
      setBusy(form, true);
      request('PUT', '/api/notes/' + encodeURIComponent(id), { text: area.value }).then(function (result) {
        if (result.ok) {
          notesStatus.textContent = 'Note saved.';
          loadNotes('Note saved.').then(function () {
            focusNote(id, '.note-edit-button');
          });
        } else if (!gone(result)) {
          setBusy(form, false);
          setFieldError(area, error, problemMessage(result));
          area.focus();
        }
      });
    });
  }

  /**
   * @param {Note[]} notes
   * @param {string} [status]
   */
  function renderNotes(notes, status) {
    notesList.textContent = '';
    notesStatus.textContent = status || (notes.length ? '' : 'No notes yet. Write your first one above.');
    notes.forEach(function (note) {
      const body = note && typeof note.text === 'string' ? note.text : '';
      const id = note && note.id !== undefined && note.id !== null ? String(note.id) : '';
      const li = el('li');
      li.dataset.id = id;

      const view = el('div', 'note-view');
      view.appendChild(el('p', 'note-text', body));
      const meta = el('p', 'note-date');
      const created = timeElement(note.created_at, 'absolute');
      if (created) addMeta(meta, '', created);
      if (note.updated_at && note.updated_at !== note.created_at) {
        const updated = timeElement(note.updated_at, 'relative');
        if (updated) addMeta(meta, 'edited', updated);
      }
      view.appendChild(meta);
      li.appendChild(view);

      if (id) {
        const actions = el('div', 'note-actions');
        const edit = el('button', 'small note-edit-button', 'Edit');
        edit.type = 'button';
        edit.setAttribute('aria-label', 'Edit note: ' + preview(body));
        edit.addEventListener('click', function () {
          startEdit(li, id, body);
        });
        const del = el('button', 'small danger', 'Delete');
        del.type = 'button';
        del.setAttribute('aria-label', 'Delete note: ' + preview(body));
        del.addEventListener('click', function () {
          deleteNote(id, del, body);
        });
        actions.appendChild(edit);
        actions.appendChild(del);
        li.appendChild(actions);
      }
      notesList.appendChild(li);
    });
  }

  /**
   * @param {string} [status]
   * @returns {Promise<void>}
   */
  function loadNotes(status) {
    return request('GET', '/api/notes').then(function (result) {
      if (result.ok) {
        renderNotes(noteList(result.data), status);
      } else if (!gone(result)) {
        notesStatus.textContent = 'Your notes could not be loaded. ' + problemMessage(result);
      }
    });
  }

  /**
   * @param {string} id
   * @param {HTMLButtonElement} button
   * @param {string} body
   */
  function deleteNote(id, button, body) {
    // A deleted note cannot be brought back: ask first.
    if (!window.confirm('Delete this note? This cannot be undone.\n\n' + preview(body))) return;
    button.disabled = true;
    request('DELETE', '/api/notes/' + encodeURIComponent(id)).then(function (result) {
      if (result.ok) {
        loadNotes('Note deleted.').then(function () {
          noteText.focus();
        });
      } else if (!gone(result)) {
        button.disabled = false;
        notesStatus.textContent = 'The note could not be deleted. ' + problemMessage(result);
      }
    });
  }

  noteForm.addEventListener('submit', function (event) {
    event.preventDefault();
    setFieldError(noteText, noteError, '');
    const value = noteText.value;
    if (!value.trim()) {
      setFieldError(noteText, noteError, 'Write something before adding the note.');
      noteText.focus();
      return;
    }
    setBusy(noteForm, true);
    request('POST', '/api/notes', { text: value }).then(function (result) {
      setBusy(noteForm, false);
      if (result.ok) {
        noteText.value = '';
        loadNotes('Note added.');
        noteText.focus();
      } else if (!gone(result)) {
        setFieldError(noteText, noteError, problemMessage(result));
        noteText.focus();
      }
    });
  });

  noteText.addEventListener('input', function () {
    setFieldError(noteText, noteError, '');
  });

  requireUser(function () {
    content.hidden = false;
    notesStatus.textContent = 'Loading your notes…';
    loadNotes();
  });
}
