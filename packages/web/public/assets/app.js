/*
 * Gatehouse web pages. One same-origin script, no build step, no dependencies.
 * The page it drives is named by <body data-page="signin|signup|home">.
 * User-supplied text is only ever written with textContent.
 */
(function () {
  'use strict';

  var CSRF_COOKIE = 'gatehouse_csrf';

  // ---------------------------------------------------------------- helpers

  function $(id) {
    return document.getElementById(id);
  }

  /** Value of a cookie readable by scripts, or '' when absent. */
  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split(';') : [];
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i].trim();
      var eq = part.indexOf('=');
      if (eq === -1) continue;
      if (part.slice(0, eq) === name) {
        var value = part.slice(eq + 1);
        try {
          return decodeURIComponent(value);
        } catch (e) {
          return value;
        }
      }
    }
    return '';
  }

  /**
   * The `next` query parameter when it is a same-origin path, else '/'.
   * Accepts only "/..." - never "//host", "/\host", a scheme, or control or
   * whitespace characters (browsers drop tabs and newlines, which could turn
   * "/\t/evil" into "//evil").
   */
  function safeNext(raw) {
    if (typeof raw !== 'string' || raw === '') return '/';
    if (raw.charAt(0) !== '/') return '/';
    if (raw.charAt(1) === '/' || raw.charAt(1) === '\\') return '/';
    if (/[\u0000-\u0020\u007f\\]/.test(raw)) return '/';
    try {
      var url = new URL(raw, window.location.origin);
      if (url.origin !== window.location.origin) return '/';
      return url.pathname + url.search + url.hash;
    } catch (e) {
      return '/';
    }
  }

  /** The validated `next` of this page, or null when there is none worth keeping. */
  function nextParam() {
    var raw = new URLSearchParams(window.location.search).get('next');
    if (raw === null) return null;
    var next = safeNext(raw);
    return next === '/' ? null : next;
  }

  /** A short device name such as "Chrome on Linux", from the user agent. */
  function deviceName() {
    var ua = navigator.userAgent || '';
    var browser = 'Browser';
    if (/Edg(e|A|iOS)?\//.test(ua)) browser = 'Edge';
    else if (/OPR\/|Opera/.test(ua)) browser = 'Opera';
    else if (/SamsungBrowser\//.test(ua)) browser = 'Samsung Internet';
    else if (/Firefox\/|FxiOS\//.test(ua)) browser = 'Firefox';
    else if (/Chrome\/|CriOS\/|Chromium\//.test(ua)) browser = 'Chrome';
    else if (/Safari\//.test(ua)) browser = 'Safari';

    var os = '';
    if (/iPhone|iPad|iPod/.test(ua)) os = 'iOS';
    else if (/Android/.test(ua)) os = 'Android';
    else if (/CrOS/.test(ua)) os = 'ChromeOS';
    else if (/Windows/.test(ua)) os = 'Windows';
    else if (/Mac OS X|Macintosh/.test(ua)) os = 'macOS';
    else if (/Linux|X11/.test(ua)) os = 'Linux';

    return os ? browser + ' on ' + os : browser;
  }

  /** Seconds from a Retry-After header (delta-seconds or HTTP-date), or null. */
  function retryAfterSeconds(response) {
    var value = response && response.headers.get('Retry-After');
    if (!value) return null;
    value = value.trim();
    if (/^\d+$/.test(value)) return parseInt(value, 10);
    var date = Date.parse(value);
    if (isNaN(date)) return null;
    return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  }

  function describeWait(seconds) {
    if (seconds < 60) return seconds + (seconds === 1 ? ' second' : ' seconds');
    var minutes = Math.ceil(seconds / 60);
    return minutes + (minutes === 1 ? ' minute' : ' minutes');
  }

  /**
   * fetch() with JSON in and out. Resolves to {ok, status, data, problem, response};
   * a network failure resolves to {ok:false, status:0, problem:{...}}.
   * Every request that changes state carries X-CSRF-Token from the gatehouse_csrf cookie.
   */
  function request(method, url, body) {
    var headers = { Accept: 'application/json' };
    var init = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
    if (method !== 'GET' && method !== 'HEAD') {
      var csrf = readCookie(CSRF_COOKIE);
      if (csrf) headers['X-CSRF-Token'] = csrf;
    }
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(
      function (response) {
        var type = response.headers.get('Content-Type') || '';
        var parse = /json/i.test(type) && response.status !== 204
          ? response.json().catch(function () { return null; })
          : Promise.resolve(null);
        return parse.then(function (data) {
          var result = { ok: response.ok, status: response.status, data: data, problem: null, response: response };
          if (!response.ok) {
            result.problem = data && typeof data === 'object' ? data : {};
          }
          return result;
        });
      },
      function () {
        return {
          ok: false,
          status: 0,
          data: null,
          response: null,
          problem: { code: 'network', detail: 'Gatehouse could not be reached. Check your connection and try again.' },
        };
      }
    );
  }

  /** A friendly sentence for a failed request. */
  function problemMessage(result) {
    var problem = result.problem || {};
    var code = problem.code;
    if (code === 'rate_limited' || result.status === 429) {
      var wait = retryAfterSeconds(result.response);
      return wait !== null && wait > 0
        ? 'Too many attempts. Please wait ' + describeWait(wait) + ' and try again.'
        : (text(problem.detail) || 'Too many attempts. Please wait a moment and try again.');
    }
    if (code === 'csrf') {
      return 'This request was blocked as a security precaution. Reload the page and try again.';
    }
    if (code === 'network') return problem.detail;
    var detail = text(problem.detail) || text(problem.title);
    if (detail) return detail;
    if (code === 'invalid_credentials') return 'The username or password is incorrect.';
    if (result.status >= 500) return 'Gatehouse is temporarily unavailable. Please try again in a moment.';
    if (result.status === 401) return 'Your session has ended. Please sign in again.';
    if (result.status === 403) return 'You are not allowed to do that.';
    return 'Something went wrong. Please try again.';
  }

  function text(value) {
    return typeof value === 'string' ? value.trim() : '';
  }

  // -------------------------------------------------------- form utilities

  function setFieldError(input, errorEl, message) {
    errorEl.textContent = message || '';
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  function setBusy(form, busy) {
    var button = form.querySelector('button[type="submit"]');
    if (!button) return;
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.disabled = busy;
    button.textContent = busy ? (button.dataset.busyLabel || button.dataset.label) : button.dataset.label;
    if (busy) form.setAttribute('aria-busy', 'true');
    else form.removeAttribute('aria-busy');
  }

  function signIn(username, password, remember) {
    return request('POST', '/auth/signin', {
      username: username,
      password: password,
      device_name: deviceName(),
      remember: remember,
    });
  }

  /** Keeps `next` on the link to the other auth page. */
  function keepNextOn(link, path) {
    var next = nextParam();
    if (link && next) link.href = path + '?next=' + encodeURIComponent(next);
  }

  function go(path) {
    window.location.assign(safeNext(path));
  }

  // ------------------------------------------------------------- sign in

  function initSignin() {
    var form = $('signin-form');
    var username = $('username');
    var password = $('password');
    var remember = $('remember');
    var usernameError = $('username-error');
    var passwordError = $('password-error');
    var formError = $('form-error');

    keepNextOn($('signup-link'), '/signup');

    function clear() {
      setFieldError(username, usernameError, '');
      setFieldError(password, passwordError, '');
      formError.textContent = '';
    }

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      clear();
      var name = username.value.trim();
      var pass = password.value;
      var first = null;
      if (!name) {
        setFieldError(username, usernameError, 'Enter your username.');
        first = first || username;
      }
      if (!pass) {
        setFieldError(password, passwordError, 'Enter your password.');
        first = first || password;
      }
      if (first) {
        first.focus();
        return;
      }

      setBusy(form, true);
      signIn(name, pass, remember.checked).then(function (result) {
        if (result.ok) {
          go(nextParam() || '/');
          return;
        }
        setBusy(form, false);
        var code = result.problem && result.problem.code;
        if (code === 'invalid_credentials') {
          formError.textContent = text(result.problem.detail) || 'The username or password is incorrect.';
          password.value = '';
          password.setAttribute('aria-invalid', 'true');
          password.focus();
        } else {
          formError.textContent = problemMessage(result);
        }
      });
    });

    [username, password].forEach(function (input) {
      input.addEventListener('input', function () {
        input.removeAttribute('aria-invalid');
      });
    });
  }

  // ------------------------------------------------------------- sign up

  var MIN_PASSWORD = 8;

  function initSignup() {
    var form = $('signup-form');
    var username = $('username');
    var password = $('password');
    var show = $('show-password');
    var usernameError = $('username-error');
    var passwordError = $('password-error');
    var formError = $('form-error');

    keepNextOn($('signin-link'), '/signin');

    show.addEventListener('change', function () {
      password.type = show.checked ? 'text' : 'password';
    });

    function clear() {
      setFieldError(username, usernameError, '');
      setFieldError(password, passwordError, '');
      formError.textContent = '';
    }

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      clear();
      var name = username.value.trim();
      var pass = password.value;
      var first = null;
      if (!name) {
        setFieldError(username, usernameError, 'Choose a username.');
        first = first || username;
      }
      if (pass.length < MIN_PASSWORD) {
        setFieldError(password, passwordError, pass
          ? 'Your password needs at least ' + MIN_PASSWORD + ' characters.'
          : 'Choose a password of at least ' + MIN_PASSWORD + ' characters.');
        first = first || password;
      }
      if (first) {
        first.focus();
        return;
      }

      setBusy(form, true);
      request('POST', '/auth/signup', { username: name, password: pass }).then(function (result) {
        if (result.status === 201 || result.ok) {
          // Hide the password again before the browser offers to save it.
          show.checked = false;
          password.type = 'password';
          return signIn(name, pass, true).then(function (signin) {
            if (signin.ok) {
              go(nextParam() || '/');
              return;
            }
            setBusy(form, false);
            var next = nextParam();
            formError.textContent = 'Your account was created, but we could not sign you in: ' +
              problemMessage(signin) + ' Please sign in.';
            var link = document.createElement('a');
            link.href = '/signin' + (next ? '?next=' + encodeURIComponent(next) : '');
            link.textContent = ' Go to sign in';
            formError.appendChild(link);
          });
        }
        setBusy(form, false);
        var code = result.problem && result.problem.code;
        var message = problemMessage(result);
        if (code === 'username_taken' || code === 'invalid_username') {
          setFieldError(username, usernameError, message);
          username.focus();
        } else if (code === 'weak_password' || code === 'invalid_password') {
          setFieldError(password, passwordError, message);
          password.focus();
        } else {
          formError.textContent = message;
        }
      });
    });

    username.addEventListener('input', function () {
      setFieldError(username, usernameError, '');
    });
    password.addEventListener('input', function () {
      setFieldError(password, passwordError, '');
    });
  }

  // ---------------------------------------------------------------- home

  function initHome() {
    var loading = $('loading');
    var pageError = $('page-error');
    var signedOut = $('signed-out');
    var signedOutMessage = $('signed-out-message');
    var signedIn = $('signed-in');
    var usernameEl = $('username');
    var accountError = $('account-error');
    var signoutButton = $('signout');
    var signoutAllButton = $('signout-all');
    var noteForm = $('note-form');
    var noteText = $('note-text');
    var noteError = $('note-error');
    var notesStatus = $('notes-status');
    var notesList = $('notes-list');

    function showSignedOut(message) {
      loading.hidden = true;
      signedIn.hidden = true;
      signedOut.hidden = false;
      usernameEl.textContent = '';
      notesList.textContent = '';
      if (message) signedOutMessage.textContent = message;
    }

    function showSignedIn(user) {
      loading.hidden = true;
      signedOut.hidden = true;
      signedIn.hidden = false;
      usernameEl.textContent = user && typeof user.username === 'string' ? user.username : '';
      loadNotes();
    }

    /** Handles a failed request made while signed in. Returns true if the session is gone. */
    function sessionGone(result) {
      if (result.status === 401) {
        showSignedOut('Your session has ended. Please sign in again.');
        return true;
      }
      return false;
    }

    function loadMe() {
      request('GET', '/auth/me').then(function (result) {
        if (result.ok && result.data) {
          showSignedIn(result.data.user && typeof result.data.user === 'object' ? result.data.user : result.data);
        } else if (result.status === 401) {
          showSignedOut();
        } else {
          loading.hidden = true;
          pageError.textContent = problemMessage(result);
          var retry = document.createElement('button');
          retry.type = 'button';
          retry.className = 'small';
          retry.textContent = 'Try again';
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

    // ---- notes

    function noteList(data) {
      if (Array.isArray(data)) return data;
      if (data && Array.isArray(data.notes)) return data.notes;
      if (data && Array.isArray(data.items)) return data.items;
      if (data && Array.isArray(data.data)) return data.data;
      return [];
    }

    function toDate(value) {
      if (value === undefined || value === null || value === '') return null;
      var date = new Date(typeof value === 'number' && value < 1e12 ? value * 1000 : value);
      return isNaN(date.getTime()) ? null : date;
    }

    function formatDate(date) {
      try {
        return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
      } catch (e) {
        return date.toLocaleString();
      }
    }

    function renderNotes(notes) {
      notesList.textContent = '';
      notesStatus.textContent = notes.length ? '' : 'No notes yet. Write your first one above.';
      notes.forEach(function (note) {
        var body = typeof note === 'string' ? note : (note && typeof note.text === 'string' ? note.text : '');
        var li = document.createElement('li');

        var wrap = document.createElement('div');
        wrap.className = 'note-body';
        var p = document.createElement('p');
        p.className = 'note-text';
        p.textContent = body;
        wrap.appendChild(p);

        var when = note && typeof note === 'object' ? toDate(note.created_at || note.createdAt) : null;
        if (when) {
          var time = document.createElement('time');
          time.className = 'note-date';
          time.dateTime = when.toISOString();
          time.textContent = formatDate(when);
          wrap.appendChild(time);
        }
        li.appendChild(wrap);

        var id = note && typeof note === 'object' ? note.id : undefined;
        if (id !== undefined && id !== null && id !== '') {
          var del = document.createElement('button');
          del.type = 'button';
          del.className = 'small';
          del.textContent = 'Delete';
          var preview = body.length > 40 ? body.slice(0, 40) + '…' : body;
          del.setAttribute('aria-label', 'Delete note: ' + preview);
          del.addEventListener('click', function () {
            deleteNote(String(id), del);
          });
          li.appendChild(del);
        }
        notesList.appendChild(li);
      });
    }

    function loadNotes() {
      notesStatus.textContent = 'Loading your notes…';
      return request('GET', '/api/notes').then(function (result) {
        if (result.ok) {
          renderNotes(noteList(result.data));
        } else if (!sessionGone(result)) {
          notesStatus.textContent = 'Your notes could not be loaded. ' + problemMessage(result);
        }
      });
    }

    function deleteNote(id, button) {
      button.disabled = true;
      accountError.textContent = '';
      request('DELETE', '/api/notes/' + encodeURIComponent(id)).then(function (result) {
        if (result.ok) {
          loadNotes().then(function () {
            noteText.focus();
          });
        } else if (!sessionGone(result)) {
          button.disabled = false;
          notesStatus.textContent = 'The note could not be deleted. ' + problemMessage(result);
        }
      });
    }

    noteForm.addEventListener('submit', function (event) {
      event.preventDefault();
      setFieldError(noteText, noteError, '');
      var value = noteText.value;
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
          loadNotes();
          noteText.focus();
        } else if (!sessionGone(result)) {
          setFieldError(noteText, noteError, problemMessage(result));
          noteText.focus();
        }
      });
    });

    noteText.addEventListener('input', function () {
      setFieldError(noteText, noteError, '');
    });

    // ---- sign out

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
          var first = signedOut.querySelector('a');
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

  // ---------------------------------------------------------------- start

  function start() {
    var page = document.body && document.body.dataset.page;
    if (page === 'signin') initSignin();
    else if (page === 'signup') initSignup();
    else if (page === 'home') initHome();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
