/*
 * Gatehouse web pages. One same-origin script, no build step, no dependencies.
 * The page it drives is named by <body data-page="signin|signup|home|notes|account">.
 * User-supplied text is only ever written with textContent.
 */
(function () {
  'use strict';

  // The CSRF cookie is `__Host-gatehouse_csrf` when the gateway is served over https.
  var CSRF_COOKIES = ['__Host-gatehouse_csrf', 'gatehouse_csrf'];
  var MIN_PASSWORD = 8;

  // ---------------------------------------------------------------- helpers

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, className, textValue) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (textValue !== undefined && textValue !== null) node.textContent = textValue;
    return node;
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

  function csrfToken() {
    for (var i = 0; i < CSRF_COOKIES.length; i++) {
      var value = readCookie(CSRF_COOKIES[i]);
      if (value) return value;
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

  /** A short device name such as "Chrome on Linux", from a user agent string. */
  function deviceName(userAgent) {
    var ua = typeof userAgent === 'string' ? userAgent : (navigator.userAgent || '');
    var browser = 'Browser';
    if (/Edg(e|A|iOS)?\//.test(ua)) browser = 'Edge';
    else if (/OPR\/|Opera/.test(ua)) browser = 'Opera';
    else if (/SamsungBrowser\//.test(ua)) browser = 'Samsung Internet';
    else if (/Firefox\/|FxiOS\//.test(ua)) browser = 'Firefox';
    else if (/Chrome\/|CriOS\/|Chromium\//.test(ua)) browser = 'Chrome';
    else if (/Safari\//.test(ua)) browser = 'Safari';
    else if (/^curl\//i.test(ua)) browser = 'curl';
    else if (/^node|undici/i.test(ua)) browser = 'Node.js';

    var os = '';
    if (/iPhone|iPad|iPod/.test(ua)) os = 'iOS';
    else if (/Android/.test(ua)) os = 'Android';
    else if (/CrOS/.test(ua)) os = 'ChromeOS';
    else if (/Windows/.test(ua)) os = 'Windows';
    else if (/Mac OS X|Macintosh/.test(ua)) os = 'macOS';
    else if (/Linux|X11/.test(ua)) os = 'Linux';

    if (/HeadlessChrome/.test(ua)) browser = 'Headless Chrome';
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
    if (minutes < 120) return minutes + (minutes === 1 ? ' minute' : ' minutes');
    var hours = Math.ceil(minutes / 60);
    return hours + ' hours';
  }

  function clockTime(date) {
    try {
      return date.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
    } catch (e) {
      return date.toLocaleTimeString();
    }
  }

  /**
   * fetch() with JSON in and out. Resolves to {ok, status, data, problem, response};
   * a network failure resolves to {ok:false, status:0, problem:{...}}.
   * Every request that changes state carries X-CSRF-Token from the CSRF cookie.
   */
  function request(method, url, body) {
    var headers = { Accept: 'application/json' };
    var init = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
    if (method !== 'GET' && method !== 'HEAD') {
      var csrf = csrfToken();
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

  function text(value) {
    return typeof value === 'string' ? value.trim() : '';
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
      // The gateway says what to do (e.g. which address to open); reloading rarely helps.
      return text(problem.detail) || 'This request was blocked as a security precaution. Reload the page and try again.';
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

  // ------------------------------------------------------------------ dates

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

  /** "just now", "5 minutes ago", "in 3 days"; falls back to the full date. */
  function relative(date) {
    var seconds = Math.round((date.getTime() - Date.now()) / 1000);
    var abs = Math.abs(seconds);
    if (abs < 45) return seconds <= 0 ? 'just now' : 'in a moment';
    if (typeof Intl === 'undefined' || !Intl.RelativeTimeFormat) return formatDate(date);
    var rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
    if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
    if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour');
    if (abs < 86400 * 45) return rtf.format(Math.round(seconds / 86400), 'day');
    return formatDate(date);
  }

  /** A <time> element: relative words (or the full date) shown, the full date as its title. */
  function timeElement(value, style) {
    var date = toDate(value);
    if (!date) return null;
    var node = el('time', null, style === 'relative' ? relative(date) : formatDate(date));
    node.dateTime = date.toISOString();
    node.title = formatDate(date);
    return node;
  }

  /** Appends "Label <time>" to a meta line, with a separator when needed. */
  function addMeta(line, label, node) {
    if (line.childNodes.length) line.appendChild(document.createTextNode(' · '));
    line.appendChild(document.createTextNode(label));
    if (node) {
      line.appendChild(document.createTextNode(' '));
      line.appendChild(node);
    }
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

  /**
   * The sign-in page, back to here after. `signedOut`: this device's session was ended (signed
   * out elsewhere, or it ran out), so the sign-in page says why it is shown.
   */
  function signinUrl(signedOut) {
    var here = window.location.pathname + window.location.search;
    var query = [];
    if (here && here !== '/') query.push('next=' + encodeURIComponent(here));
    if (signedOut) query.push('reason=signed_out');
    return '/signin' + (query.length ? '?' + query.join('&') : '');
  }

  // ------------------------------------------------------ password strength

  // The most common passwords of 8+ characters, to warn early. The server's list is far
  // longer and decides; this only spares a round trip for the obvious ones.
  var COMMON_PASSWORDS = [
    'password', 'password1', 'password12', 'password123', 'passw0rd', 'p@ssw0rd', 'p@ssword',
    '12345678', '123456789', '1234567890', '0123456789', '87654321', '11111111', '00000000',
    '12341234', '11223344', '12121212', '123123123', '1q2w3e4r', '1q2w3e4r5t', 'q1w2e3r4',
    '1qaz2wsx', 'zaq12wsx', 'qwertyui', 'qwertyuiop', 'qwerty123', 'qwerty12', '1234qwer',
    'asdfghjk', 'asdfghjkl', 'asdfasdf', 'zxcvbnm1', 'qazwsxedc', 'aaaaaaaa', 'abcdefgh',
    'abc12345', 'abcd1234', 'iloveyou', 'iloveyou1', 'sunshine', 'princess', 'football',
    'baseball', 'basketball', 'welcome1', 'welcome123', 'letmein1', 'trustno1', 'superman',
    'starwars', 'whatever', 'computer', 'internet', 'changeme', 'admin123', 'administrator',
    'michael1', 'jennifer', 'master12', 'monkey123', 'dragon12', 'shadow12', 'football1',
    'gatehouse', 'gatehouse1',
  ];

  var SEQUENCES = ['0123456789', 'abcdefghijklmnopqrstuvwxyz', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];

  function hasSequence(lower) {
    for (var i = 0; i + 4 <= lower.length; i++) {
      var part = lower.slice(i, i + 4);
      var reversed = part.split('').reverse().join('');
      for (var j = 0; j < SEQUENCES.length; j++) {
        if (SEQUENCES[j].indexOf(part) !== -1 || SEQUENCES[j].indexOf(reversed) !== -1) return true;
      }
    }
    return false;
  }

  var LEVELS = ['Too short', 'Weak', 'Fair', 'Good', 'Strong'];

  /**
   * A rough local estimate: {level 0..4, label, tips[]}. Length and character variety,
   * minus the usual patterns. Only advice: the server checks the password for real.
   */
  function passwordStrength(password, username) {
    var chars = Array.from(password);
    var length = chars.length;
    var tips = [];
    if (length === 0) return { level: 0, label: '', tips: tips, length: 0 };
    var lower = password.toLowerCase();
    var stripped = lower.replace(/[\d!@#$%^&*?._-]+$/, '');
    if (COMMON_PASSWORDS.indexOf(lower) !== -1 || (stripped.length >= 6 && COMMON_PASSWORDS.indexOf(stripped) !== -1)) {
      return { level: length < MIN_PASSWORD ? 0 : 1, label: length < MIN_PASSWORD ? LEVELS[0] : 'Very weak', common: true, length: length,
        tips: ['This is one of the most common passwords and would be guessed at once. Choose another.'] };
    }
    var pool = 0;
    if (/[a-z]/.test(password)) pool += 26;
    if (/[A-Z]/.test(password)) pool += 26;
    if (/\d/.test(password)) pool += 10;
    if (/[^A-Za-z0-9]/.test(password)) pool += 33;
    if (/[^\u0000-\u007f]/.test(password)) pool += 100;
    var unique = {};
    chars.forEach(function (c) { unique[c] = true; });
    var distinct = Object.keys(unique).length;
    var bits = length * Math.log2(Math.max(pool, 2));
    if (distinct <= 2) {
      bits = Math.min(bits, 10);
      tips.push('Avoid repeating the same characters.');
    } else if (distinct < length / 3) {
      bits *= 0.6;
      tips.push('Avoid repeating characters.');
    }
    if (hasSequence(lower)) {
      bits *= 0.7;
      tips.push('Avoid sequences such as "1234", "abcd" or rows of the keyboard.');
    }
    if (/^\d+$/.test(password)) {
      bits *= 0.7;
      tips.push('Digits alone are quick to guess; use words too.');
    }
    var name = (username || '').trim().toLowerCase();
    if (name.length >= 3 && lower.indexOf(name) !== -1) {
      bits *= 0.5;
      tips.push("Don't use your username in your password.");
    }
    var level;
    if (length < MIN_PASSWORD) level = 0;
    else if (bits < 40) level = 1;
    else if (bits < 60) level = 2;
    else if (bits < 80) level = 3;
    else level = 4;
    if (level === 0) tips.unshift('Use at least ' + MIN_PASSWORD + ' characters (' + length + ' so far).');
    else if (level < 3 && tips.length === 0) tips.push('Longer is stronger: try a few unrelated words.');
    return { level: level, label: LEVELS[level], tips: tips, length: length };
  }

  /** Wires a password input to its meter and live text. */
  function strengthFeedback(input, meter, output, usernameOf) {
    function update() {
      var result = passwordStrength(input.value, usernameOf ? usernameOf() : '');
      meter.dataset.level = String(input.value ? result.level : 0);
      meter.dataset.empty = input.value ? 'false' : 'true';
      if (!input.value) {
        output.textContent = '';
        return result;
      }
      output.textContent = 'Strength: ' + result.label + '. ' + result.tips.join(' ');
      return result;
    }
    input.addEventListener('input', update);
    return update;
  }

  // ---------------------------------------------------------- proof of work

  function hex(buffer) {
    var bytes = new Uint8Array(buffer);
    var out = '';
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return out;
  }

  // SHA-256 in plain JavaScript, for pages served over plain http from a host name, where
  // browsers hide crypto.subtle (it needs a secure context). Constants computed as in FIPS 180-4.
  var SHA_K = null;
  var SHA_H = null;
  function shaConstants() {
    if (SHA_K) return;
    SHA_K = [];
    SHA_H = [];
    var n = 2;
    while (SHA_K.length < 64) {
      var prime = true;
      for (var d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
      if (prime) {
        if (SHA_H.length < 8) SHA_H.push((Math.pow(n, 1 / 2) % 1) * 4294967296 | 0);
        SHA_K.push((Math.pow(n, 1 / 3) % 1) * 4294967296 | 0);
      }
      n++;
    }
  }

  function rotr(x, n) {
    return (x >>> n) | (x << (32 - n));
  }

  function sha256HexJs(message) {
    shaConstants();
    var bytes = new TextEncoder().encode(message);
    var length = bytes.length;
    var total = (((length + 9 + 63) / 64) | 0) * 64;
    var m = new Uint8Array(total);
    m.set(bytes);
    m[length] = 0x80;
    var view = new DataView(m.buffer);
    var bits = length * 8;
    view.setUint32(total - 8, Math.floor(bits / 4294967296));
    view.setUint32(total - 4, bits >>> 0);
    var h = SHA_H.slice();
    var w = new Int32Array(64);
    for (var off = 0; off < total; off += 64) {
      for (var t = 0; t < 16; t++) w[t] = view.getInt32(off + t * 4);
      for (t = 16; t < 64; t++) {
        var x = w[t - 15];
        var y = w[t - 2];
        var s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
        var s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
      }
      var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
      for (t = 0; t < 64; t++) {
        var t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + SHA_K[t] + w[t]) | 0;
        var t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
      h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
    }
    var out = '';
    for (var i = 0; i < 8; i++) out += ('00000000' + (h[i] >>> 0).toString(16)).slice(-8);
    return out;
  }

  var subtle = window.crypto && window.crypto.subtle;

  function sha256Hex(message) {
    if (!subtle) return Promise.resolve(sha256HexJs(message));
    return subtle.digest('SHA-256', new TextEncoder().encode(message)).then(hex);
  }

  /**
   * Finds `number` in 0..maxnumber with hex(SHA-256(salt + number)) === challenge, in chunks
   * so the page stays responsive. Resolves to the number, or null when there is none.
   */
  function solveChallenge(challenge, onProgress) {
    var max = Number(challenge.maxnumber !== undefined ? challenge.maxnumber : challenge.maxNumber);
    if (!isFinite(max) || max < 0) max = 1000000;
    var target = String(challenge.challenge).toLowerCase();
    var salt = String(challenge.salt);
    var chunk = subtle ? 1000 : 250;
    var n = 0;
    return new Promise(function (resolve, reject) {
      function step() {
        var start = n;
        var end = Math.min(n + chunk, max + 1);
        var hashes = [];
        for (var i = start; i < end; i++) hashes.push(sha256Hex(salt + i));
        Promise.all(hashes).then(function (found) {
          for (var j = 0; j < found.length; j++) {
            if (found[j] === target) {
              onProgress(1);
              resolve(start + j);
              return;
            }
          }
          n = end;
          if (n > max) {
            resolve(null);
            return;
          }
          onProgress(n / (max + 1));
          setTimeout(step, 0);
        }, reject);
      }
      step();
    });
  }

  /** The `challenge` field of a sign-up: base64 of the JSON solution. */
  function challengePayload(challenge, number) {
    return btoa(JSON.stringify({
      algorithm: challenge.algorithm,
      challenge: challenge.challenge,
      number: number,
      salt: challenge.salt,
      signature: challenge.signature,
    }));
  }

  // ------------------------------------------------------------- sign in

  function lockoutMessage(result) {
    var wait = retryAfterSeconds(result.response);
    if (wait !== null && wait > 0) {
      var until = new Date(Date.now() + wait * 1000);
      return 'Too many failed sign-in attempts. For your security, signing in to this account is paused. ' +
        'Try again in ' + describeWait(wait) + ' (at ' + clockTime(until) + ').';
    }
    return 'Too many failed sign-in attempts. For your security, signing in is paused for a while. Please try again later.';
  }

  function initSignin() {
    var form = $('signin-form');
    var username = $('username');
    var password = $('password');
    var remember = $('remember');
    var usernameError = $('username-error');
    var passwordError = $('password-error');
    var formError = $('form-error');

    keepNextOn($('signup-link'), '/signup');

    // Only a known flag picks one of our own sentences: nothing from the URL is shown.
    if (new URLSearchParams(window.location.search).get('reason') === 'signed_out') {
      var signedOut = $('signin-notice');
      signedOut.textContent = 'You were signed out on this device (from another device, or the session ended). Sign in again to continue.';
      signedOut.hidden = false;
    }

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
          formError.textContent = 'The username or password is incorrect.';
          password.value = '';
          password.setAttribute('aria-invalid', 'true');
          password.focus();
        } else if (code === 'rate_limited' || result.status === 429) {
          formError.textContent = lockoutMessage(result);
          password.value = '';
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

  function initSignup() {
    var form = $('signup-form');
    var username = $('username');
    var password = $('password');
    var show = $('show-password');
    var usernameError = $('username-error');
    var passwordError = $('password-error');
    var formError = $('form-error');
    var pow = $('pow');
    var powStatus = $('pow-status');
    var powProgress = $('pow-progress');

    keepNextOn($('signin-link'), '/signin');

    show.addEventListener('change', function () {
      password.type = show.checked ? 'text' : 'password';
    });

    var updateStrength = strengthFeedback(password, $('password-meter'), $('password-strength'), function () {
      return username.value;
    });
    username.addEventListener('input', function () {
      if (password.value) updateStrength();
    });

    function clear() {
      setFieldError(username, usernameError, '');
      setFieldError(password, passwordError, '');
      formError.textContent = '';
    }

    function showProgress(fraction) {
      var percent = Math.min(100, Math.floor(fraction * 100));
      powProgress.value = percent;
      powStatus.textContent = "Checking you're not a bot… " + percent + '%';
    }

    /** Fetches and solves a challenge. Resolves to the payload, or rejects with a message. */
    function solve() {
      pow.hidden = false;
      showProgress(0);
      $('pow-announce').textContent = "Checking you're not a bot. This takes a few seconds.";
      return request('GET', '/auth/challenge').then(function (result) {
        if (!result.ok || !result.data || typeof result.data.challenge !== 'string') {
          throw new Error(result.status === 429 || result.status === 0 || result.status >= 500
            ? problemMessage(result)
            : "The check that you're not a bot could not be loaded. Please try again later.");
        }
        var challenge = result.data;
        return solveChallenge(challenge, showProgress).then(function (number) {
          if (number === null) throw new Error('The check could not be completed. Please try again.');
          powStatus.textContent = 'Check complete. Creating your account…';
          $('pow-announce').textContent = 'Check complete.';
          return challengePayload(challenge, number);
        });
      });
    }

    function signedUp(name, pass) {
      // Hide the password again before the browser offers to save it.
      show.checked = false;
      password.type = 'password';
      return signIn(name, pass, true).then(function (signin) {
        if (signin.ok) {
          go(nextParam() || '/');
          return;
        }
        setBusy(form, false);
        pow.hidden = true;
        var next = nextParam();
        formError.textContent = 'Your account was created, but we could not sign you in: ' +
          problemMessage(signin) + ' ';
        var link = document.createElement('a');
        link.href = '/signin' + (next ? '?next=' + encodeURIComponent(next) : '');
        link.textContent = 'Go to sign in';
        formError.appendChild(link);
      });
    }

    function failed(result) {
      setBusy(form, false);
      pow.hidden = true;
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
    }

    /** Sends the sign-up; solves a proof-of-work challenge when asked (and once more if refused). */
    function send(name, pass, payload, solves) {
      var body = { username: name, password: pass };
      if (payload) body.challenge = payload;
      return request('POST', '/auth/signup', body).then(function (result) {
        if (result.status === 201 || result.ok) return signedUp(name, pass);
        var code = result.problem && result.problem.code;
        var again = (code === 'challenge_required' && solves === 0) || (code === 'invalid_challenge' && solves === 1);
        if (again) {
          return solve().then(function (next) {
            return send(name, pass, next, solves + 1);
          }, function (err) {
            failed({ status: 400, problem: { detail: err && err.message ? err.message : 'The check failed. Please try again.' } });
          });
        }
        if (code === 'challenge_required' || code === 'invalid_challenge') {
          failed({ status: 400, problem: { detail: 'We could not confirm you are not a bot. Please try again.' } });
          return undefined;
        }
        failed(result);
        return undefined;
      });
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
      if (Array.from(pass).length < MIN_PASSWORD) {
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
      send(name, pass, null, 0);
    });

    username.addEventListener('input', function () {
      setFieldError(username, usernameError, '');
    });
    password.addEventListener('input', function () {
      setFieldError(password, passwordError, '');
    });
  }

  // ------------------------------------------------- signed-in pages: shared

  /** The user entity from /auth/me (also accepts {user:{...}}). */
  function userOf(data) {
    if (data && typeof data.user === 'object' && data.user) return data.user;
    return data || {};
  }

  /**
   * Loads /auth/me for a page that needs a signed-in user: resolves with the user, sends a
   * signed-out visitor to sign-in (and back here after), and shows other errors with a retry.
   */
  function requireUser(onUser) {
    var loading = $('loading');
    request('GET', '/auth/me').then(function (result) {
      if (result.ok && result.data) {
        loading.hidden = true;
        onUser(userOf(result.data));
      } else if (result.status === 401) {
        // invalid_token: a session cookie came but its session is over (unauthenticated: none came).
        window.location.replace(signinUrl(result.problem && result.problem.code === 'invalid_token'));
      } else {
        loading.textContent = problemMessage(result) + ' ';
        var retry = el('button', 'small', 'Try again');
        retry.type = 'button';
        retry.addEventListener('click', function () {
          window.location.reload();
        });
        loading.appendChild(retry);
      }
    });
  }

  /** Replaces the page content with a notice that the session is over, and a way back in. */
  function sessionEnded(content, message) {
    var notice = $('session-ended');
    content.hidden = true;
    notice.textContent = '';
    notice.appendChild(el('p', null, message || 'You have been signed out, perhaps from another device. Please sign in again.'));
    var link = el('a', 'button primary', 'Sign in');
    link.href = signinUrl();
    notice.appendChild(link);
    notice.hidden = false;
    link.focus();
  }

  function noteList(data) {
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data.notes)) return data.notes;
    if (data && Array.isArray(data.items)) return data.items;
    return [];
  }

  function listOf(data, key) {
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data[key])) return data[key];
    return [];
  }

  function preview(body) {
    return body.length > 40 ? body.slice(0, 40) + '…' : body;
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
    var summary = $('notes-summary');

    function showSignedOut(message) {
      loading.hidden = true;
      signedIn.hidden = true;
      signedOut.hidden = false;
      usernameEl.textContent = '';
      if (message) signedOutMessage.textContent = message;
    }

    function showSignedIn(user) {
      loading.hidden = true;
      signedOut.hidden = true;
      signedIn.hidden = false;
      usernameEl.textContent = typeof user.username === 'string' ? user.username : '';
      request('GET', '/api/notes').then(function (result) {
        if (!result.ok) return;
        var notes = noteList(result.data);
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
          var retry = el('button', 'small', 'Try again');
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

  // ---------------------------------------------------------------- notes

  function initNotes() {
    var content = $('notes');
    var noteForm = $('note-form');
    var noteText = $('note-text');
    var noteError = $('note-error');
    var notesStatus = $('notes-status');
    var notesList = $('notes-list');

    function gone(result) {
      if (result.status !== 401) return false;
      sessionEnded(content);
      return true;
    }

    function focusNote(id, selector) {
      var items = notesList.children;
      for (var i = 0; i < items.length; i++) {
        if (items[i].dataset.id === id) {
          var target = items[i].querySelector(selector);
          if (target) target.focus();
          return;
        }
      }
      noteText.focus();
    }

    function startEdit(li, id, body) {
      var view = li.querySelector('.note-view');
      var actions = li.querySelector('.note-actions');
      view.hidden = true;
      actions.hidden = true;
      var form = el('form', 'note-edit');
      form.noValidate = true;
      var fieldId = 'edit-' + id.replace(/[^A-Za-z0-9_-]/g, '');
      var label = el('label', 'visually-hidden', 'Edit note');
      label.htmlFor = fieldId;
      var area = el('textarea');
      area.id = fieldId;
      area.rows = 3;
      area.maxLength = 10000;
      area.value = body;
      var error = el('p', 'error');
      error.id = fieldId + '-error';
      error.setAttribute('role', 'alert');
      area.setAttribute('aria-describedby', error.id);
      var buttons = el('div', 'actions');
      var save = el('button', 'small primary', 'Save');
      save.type = 'submit';
      save.dataset.busyLabel = 'Saving…';
      var cancel = el('button', 'small', 'Cancel');
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
        var edit = actions.querySelector('.note-edit-button');
        if (edit) edit.focus();
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

    function renderNotes(notes, status) {
      notesList.textContent = '';
      notesStatus.textContent = status || (notes.length ? '' : 'No notes yet. Write your first one above.');
      notes.forEach(function (note) {
        var body = note && typeof note.text === 'string' ? note.text : '';
        var id = note && note.id !== undefined && note.id !== null ? String(note.id) : '';
        var li = el('li');
        li.dataset.id = id;

        var view = el('div', 'note-view');
        view.appendChild(el('p', 'note-text', body));
        var meta = el('p', 'note-date');
        var created = timeElement(note.created_at, 'absolute');
        if (created) addMeta(meta, '', created);
        if (note.updated_at && note.updated_at !== note.created_at) {
          var updated = timeElement(note.updated_at, 'relative');
          if (updated) addMeta(meta, 'edited', updated);
        }
        view.appendChild(meta);
        li.appendChild(view);

        if (id) {
          var actions = el('div', 'note-actions');
          var edit = el('button', 'small note-edit-button', 'Edit');
          edit.type = 'button';
          edit.setAttribute('aria-label', 'Edit note: ' + preview(body));
          edit.addEventListener('click', function () {
            startEdit(li, id, body);
          });
          var del = el('button', 'small danger', 'Delete');
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

    function loadNotes(status) {
      return request('GET', '/api/notes').then(function (result) {
        if (result.ok) {
          renderNotes(noteList(result.data), status);
        } else if (!gone(result)) {
          notesStatus.textContent = 'Your notes could not be loaded. ' + problemMessage(result);
        }
      });
    }

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

  // -------------------------------------------------------------- account

  var ACTIVITY = {
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
  };
  var ACTIVITY_WARN = ['signin.failure', 'signin.locked', 'refresh.reuse_detected'];
  var ACTIVITY_SHOWN = 25;

  function activityWords(type) {
    if (ACTIVITY[type]) return ACTIVITY[type];
    var words = String(type || 'event').replace(/[._]+/g, ' ').trim();
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function initAccount() {
    var content = $('account');
    var usernameEl = $('username');
    var rolesEl = $('roles');
    var devicesList = $('devices-list');
    var devicesStatus = $('devices-status');
    var devicesError = $('devices-error');
    var signoutButton = $('signout');
    var signoutAll = $('signout-all');
    var confirmBox = $('signout-all-confirm');
    var tokensList = $('tokens-list');
    var tokensStatus = $('tokens-status');
    var tokensError = $('tokens-error');
    var activityList = $('activity-list');
    var activityStatus = $('activity-status');
    var deviceNames = {};

    function gone(result) {
      if (result.status !== 401) return false;
      sessionEnded(content);
      return true;
    }

    // ---- devices

    function renderDevices(sessions, status) {
      devicesList.textContent = '';
      devicesStatus.textContent = status || (sessions.length ? '' : 'No devices are signed in.');
      sessions.sort(function (a, b) {
        if (a.current !== b.current) return a.current ? -1 : 1;
        return String(b.last_seen_at || '').localeCompare(String(a.last_seen_at || ''));
      });
      sessions.forEach(function (s) {
        var name = text(s.device_name) || 'Unnamed device';
        if (s.device_id) deviceNames[s.device_id] = name;
        var li = el('li', 'row');
        li.dataset.id = String(s.id);
        var main = el('div', 'row-main');
        var title = el('p', 'row-title');
        title.appendChild(el('span', null, name));
        if (s.current) title.appendChild(el('span', 'badge', 'This device'));
        main.appendChild(title);
        var meta = el('p', 'row-meta');
        addMeta(meta, 'Signed in', timeElement(s.created_at, 'absolute'));
        addMeta(meta, 'Last active', timeElement(s.last_seen_at, 'relative'));
        main.appendChild(meta);
        li.appendChild(main);
        if (!s.current) {
          var button = el('button', 'small', 'Sign out');
          button.type = 'button';
          button.setAttribute('aria-label', 'Sign out ' + name);
          button.addEventListener('click', function () {
            removeDevice(String(s.id), name, button);
          });
          li.appendChild(button);
        }
        devicesList.appendChild(li);
      });
    }

    function loadDevices(status) {
      return request('GET', '/auth/sessions').then(function (result) {
        if (result.ok) renderDevices(listOf(result.data, 'sessions'), status);
        else if (!gone(result)) devicesStatus.textContent = 'Your devices could not be loaded. ' + problemMessage(result);
      });
    }

    function removeDevice(id, name, button) {
      button.disabled = true;
      devicesError.textContent = '';
      request('DELETE', '/auth/sessions/' + encodeURIComponent(id)).then(function (result) {
        if (result.ok || result.status === 404) {
          loadDevices(name + ' was signed out.').then(function () {
            $('devices-title').focus();
          });
          loadActivity();
        } else if (!gone(result)) {
          button.disabled = false;
          devicesError.textContent = problemMessage(result);
        }
      });
    }

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
      var yes = $('signout-all-yes');
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

    // ---- password

    var passwordForm = $('password-form');
    var current = $('current-password');
    var fresh = $('new-password');
    var currentError = $('current-password-error');
    var freshError = $('new-password-error');
    var passwordFormError = $('password-form-error');
    var passwordStatus = $('password-status');
    var showPasswords = $('show-passwords');
    var updateStrength = strengthFeedback(fresh, $('new-password-meter'), $('new-password-strength'), function () {
      return usernameEl.textContent;
    });

    showPasswords.addEventListener('change', function () {
      current.type = showPasswords.checked ? 'text' : 'password';
      fresh.type = showPasswords.checked ? 'text' : 'password';
    });
    current.addEventListener('input', function () {
      setFieldError(current, currentError, '');
    });
    fresh.addEventListener('input', function () {
      setFieldError(fresh, freshError, '');
    });

    passwordForm.addEventListener('submit', function (event) {
      event.preventDefault();
      setFieldError(current, currentError, '');
      setFieldError(fresh, freshError, '');
      passwordFormError.textContent = '';
      passwordStatus.textContent = '';
      var first = null;
      if (!current.value) {
        setFieldError(current, currentError, 'Enter your current password.');
        first = current;
      }
      if (Array.from(fresh.value).length < MIN_PASSWORD) {
        setFieldError(fresh, freshError, 'Your new password needs at least ' + MIN_PASSWORD + ' characters.');
        first = first || fresh;
      } else if (fresh.value === current.value) {
        setFieldError(fresh, freshError, 'Choose a password different from the current one.');
        first = first || fresh;
      }
      if (first) {
        first.focus();
        return;
      }
      setBusy(passwordForm, true);
      request('POST', '/auth/password', { current_password: current.value, new_password: fresh.value }).then(function (result) {
        setBusy(passwordForm, false);
        var code = result.problem && result.problem.code;
        if (result.ok) {
          current.value = '';
          fresh.value = '';
          showPasswords.checked = false;
          current.type = 'password';
          fresh.type = 'password';
          updateStrength();
          passwordStatus.textContent = 'Your password was changed. Every other device and app signed in to your account was signed out; this one stays signed in. Your API tokens still work: delete any you no longer trust under API tokens.';
          loadDevices();
          loadTokens();
          loadActivity();
        } else if (code === 'invalid_credentials') {
          setFieldError(current, currentError, 'Your current password is not right.');
          current.focus();
        } else if (code === 'weak_password' || code === 'invalid_password') {
          setFieldError(fresh, freshError, problemMessage(result));
          fresh.focus();
        } else if (result.status === 401) {
          gone(result);
        } else {
          passwordFormError.textContent = problemMessage(result);
        }
      });
    });

    // ---- API tokens

    var tokenForm = $('token-form');
    var tokenName = $('token-name');
    var tokenNameError = $('token-name-error');
    var scopesError = $('token-scopes-error');
    var tokenFormError = $('token-form-error');
    var expiry = $('token-expiry');
    var newToken = $('new-token');
    var newTokenValue = $('new-token-value');
    var copyStatus = $('copy-status');

    function renderTokens(tokens, status) {
      tokensList.textContent = '';
      tokensStatus.textContent = status || (tokens.length ? '' : 'You have no API tokens.');
      tokens.forEach(function (t) {
        var name = text(t.name) || 'Unnamed token';
        var li = el('li', 'row');
        var main = el('div', 'row-main');
        var title = el('p', 'row-title');
        title.appendChild(el('span', null, name));
        var scopes = Array.isArray(t.scopes) ? t.scopes : [];
        scopes.forEach(function (scope) {
          title.appendChild(el('code', 'chip', String(scope)));
        });
        if (!scopes.length) title.appendChild(el('span', 'chip', 'no scopes'));
        main.appendChild(title);
        var meta = el('p', 'row-meta');
        addMeta(meta, 'Created', timeElement(t.created_at, 'absolute'));
        var used = timeElement(t.last_used_at, 'relative');
        addMeta(meta, used ? 'Last used' : 'Never used', used);
        var expires = toDate(t.expires_at);
        if (!expires) addMeta(meta, 'Never expires', null);
        else addMeta(meta, expires.getTime() < Date.now() ? 'Expired' : 'Expires', timeElement(t.expires_at, 'absolute'));
        main.appendChild(meta);
        li.appendChild(main);
        var del = el('button', 'small danger', 'Delete');
        del.type = 'button';
        del.setAttribute('aria-label', 'Delete token ' + name);
        del.addEventListener('click', function () {
          deleteToken(String(t.id), name, del);
        });
        li.appendChild(del);
        tokensList.appendChild(li);
      });
    }

    function loadTokens(status) {
      return request('GET', '/auth/api-tokens').then(function (result) {
        if (result.ok) renderTokens(listOf(result.data, 'tokens'), status);
        else if (!gone(result)) tokensStatus.textContent = 'Your API tokens could not be loaded. ' + problemMessage(result);
      });
    }

    function deleteToken(id, name, button) {
      button.disabled = true;
      tokensError.textContent = '';
      request('DELETE', '/auth/api-tokens/' + encodeURIComponent(id)).then(function (result) {
        if (result.ok || result.status === 404) {
          loadTokens('Token "' + name + '" was deleted. Scripts using it will stop working.').then(function () {
            $('tokens-title').focus();
          });
          loadActivity();
        } else if (!gone(result)) {
          button.disabled = false;
          tokensError.textContent = problemMessage(result);
        }
      });
    }

    tokenName.addEventListener('input', function () {
      setFieldError(tokenName, tokenNameError, '');
    });

    tokenForm.addEventListener('submit', function (event) {
      event.preventDefault();
      setFieldError(tokenName, tokenNameError, '');
      scopesError.textContent = '';
      tokenFormError.textContent = '';
      var name = tokenName.value.trim();
      var scopes = Array.prototype.slice.call(tokenForm.querySelectorAll('input[name="scopes"]:checked')).map(function (box) {
        return box.value;
      });
      if (!name) {
        setFieldError(tokenName, tokenNameError, 'Give the token a name, so you know later what it is for.');
        tokenName.focus();
        return;
      }
      if (!scopes.length) {
        scopesError.textContent = 'Choose at least one scope.';
        $('scope-notes-read').focus();
        return;
      }
      var body = { name: name, scopes: scopes };
      if (expiry.value) body.expires_in = parseInt(expiry.value, 10);
      setBusy(tokenForm, true);
      request('POST', '/auth/api-tokens', body).then(function (result) {
        setBusy(tokenForm, false);
        if (result.ok && result.data && typeof result.data.token === 'string') {
          tokenName.value = '';
          $('new-token-name').textContent = '"' + (text(result.data.name) || name) + '"';
          newTokenValue.value = result.data.token;
          copyStatus.textContent = '';
          newToken.hidden = false;
          newToken.focus();
          newTokenValue.select();
          loadTokens();
          loadActivity();
        } else if (!gone(result)) {
          tokenFormError.textContent = problemMessage(result);
        }
      });
    });

    function selectToken() {
      newTokenValue.focus();
      newTokenValue.select();
      newTokenValue.setSelectionRange(0, newTokenValue.value.length);
    }

    newTokenValue.addEventListener('focus', selectToken);

    $('copy-token').addEventListener('click', function () {
      var value = newTokenValue.value;
      function fallback() {
        selectToken();
        var copied = false;
        try {
          copied = document.execCommand('copy');
        } catch (e) {
          copied = false;
        }
        copyStatus.textContent = copied
          ? 'Copied to the clipboard.'
          : 'The token is selected: press Ctrl+C (or ⌘C) to copy it.';
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(value).then(function () {
          copyStatus.textContent = 'Copied to the clipboard.';
        }, fallback);
      } else {
        fallback();
      }
    });

    $('new-token-done').addEventListener('click', function () {
      newTokenValue.value = '';
      newToken.hidden = true;
      copyStatus.textContent = '';
      $('tokens-title').focus();
    });

    // ---- activity

    function renderActivity(events) {
      activityList.textContent = '';
      activityStatus.textContent = events.length ? '' : 'No activity yet.';
      events.slice(0, ACTIVITY_SHOWN).forEach(function (ev) {
        var li = el('li', 'row' + (ACTIVITY_WARN.indexOf(ev.type) !== -1 ? ' warn' : ''));
        var main = el('div', 'row-main');
        var title = el('p', 'row-title', activityWords(ev.type));
        main.appendChild(title);
        var detail = typeof ev.detail === 'string' ? ev.detail
          : (ev.detail && typeof ev.detail === 'object' && typeof ev.detail.name === 'string' ? ev.detail.name : '');
        if (detail) main.appendChild(el('p', 'row-detail', detail));
        var meta = el('p', 'row-meta');
        var at = timeElement(ev.at, 'relative');
        if (at) addMeta(meta, '', at);
        if (text(ev.ip)) addMeta(meta, 'IP ' + text(ev.ip), null);
        var device = (ev.device_id && deviceNames[ev.device_id]) || (text(ev.user_agent) ? deviceName(ev.user_agent) : '');
        if (device) addMeta(meta, device, null);
        main.appendChild(meta);
        li.appendChild(main);
        activityList.appendChild(li);
      });
      if (events.length > ACTIVITY_SHOWN) {
        activityStatus.textContent = 'Showing the latest ' + ACTIVITY_SHOWN + ' events.';
      }
    }

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
      $('password-username').value = usernameEl.textContent;
      var roles = Array.isArray(user.roles) ? user.roles.filter(function (r) { return typeof r === 'string'; }) : [];
      rolesEl.textContent = roles.length ? 'Roles: ' + roles.join(', ') : 'No special roles.';
      content.hidden = false;
      devicesStatus.textContent = 'Loading your devices…';
      tokensStatus.textContent = 'Loading your tokens…';
      activityStatus.textContent = 'Loading your activity…';
      // Devices first: their names label the activity list.
      loadDevices().then(loadActivity);
      loadTokens();
    });
  }

  // ---------------------------------------------------------------- start

  function start() {
    var page = document.body && document.body.dataset.page;
    if (page === 'signin') initSignin();
    else if (page === 'signup') initSignup();
    else if (page === 'home') initHome();
    else if (page === 'notes') initNotes();
    else if (page === 'account') initAccount();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
