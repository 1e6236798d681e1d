// @ts-check
/** The home page (index.html): who is signed in, sign-out buttons, a notes summary. */
import { $, el } from './dom.js';
import { noteList, problemMessage, request } from './api.js';
import { userOf } from './session.js';

export function initHome() {
  const loading = $('loading');
  const pageError = $('page-error');
  const signedOut = $('signed-out');
  const signedOutMessage = $('signed-out-message');
  const signedIn = $('signed-in');
  const usernameEl = $('username');
  const accountError = $('account-error');
  const signoutButton = $('signout', HTMLButtonElement);
  const signoutAllButton = $('signout-all', HTMLButtonElement);
  const summary = $('notes-summary');

  /** @param {string} [message] */
  function showSignedOut(message) {
    loading.hidden = true;
    signedIn.hidden = true;
    signedOut.hidden = false;
    usernameEl.textContent = '';
    if (message) signedOutMessage.textContent = message;
  }

  /** @param {import('./session.js').User} user */
  function showSignedIn(user) {
    loading.hidden = true;
    signedOut.hidden = true;
    signedIn.hidden = false;
    usernameEl.textContent = typeof user.username === 'string' ? user.username : '';
    request('GET', '/api/notes').then(function (result) {
      if (!result.ok) return;
      const notes = noteList(result.data);
      summary.textContent = notes.length === 0
        ? 'No notes yet. Write your first one.'
        : 'You have ' + notes.length + (notes.length === 1 ? ' note.' : ' notes.');
    });
  }

  function loadMe() {
    request('GET', '/auth/me').then(function (result) {
      if (result.ok && result.data) {
        showSignedIn(userOf(result.data));
      } else if (result.status === 401) {
        showSignedOut();
      } else {
        loading.hidden = true;
        pageError.textContent = problemMessage(result);
        const retry = el('button', 'small', 'Try again');
        retry.type = 'button';
        retry.addEventListener('click', function () {
          pageError.textContent = '';
          loading.hidden = false;
          loadMe();
        });
        pageError.appendChild(document.createTextNode(' '));
        pageError.appendChild(retry);
      }
    });
  }

  /**
   * @param {string} path
   * @param {HTMLButtonElement} button
   */
  function signOut(path, button) {
    accountError.textContent = '';
    signoutButton.disabled = true;
    signoutAllButton.disabled = true;
    request('POST', path).then(function (result) {
      signoutButton.disabled = false;
      signoutAllButton.disabled = false;
      if (result.ok || result.status === 401) {
        showSignedOut(path === '/auth/signout-all'
          ? 'You have been signed out on every device.'
          : 'You have been signed out.');
        const first = signedOut.querySelector('a');
        if (first) first.focus();
      } else {
        accountError.textContent = problemMessage(result);
        button.focus();
      }
    });
  }

  signoutButton.addEventListener('click', function () {
    signOut('/auth/signout', signoutButton);
  });
  signoutAllButton.addEventListener('click', function () {
    signOut('/auth/signout-all', signoutAllButton);
  });

  loadMe();
}
