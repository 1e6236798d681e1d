// @ts-check
/**
 * The API client: JSON requests to the gateway, the CSRF header on every request that
 * changes state, and friendly sentences for failed requests.
 */
import { describeWait, deviceName, text } from './dom.js';

// The CSRF cookie is `__Host-gatehouse_csrf` when the gateway is served over https.
const CSRF_COOKIES = ['__Host-gatehouse_csrf', 'gatehouse_csrf'];

/**
 * An RFC 9457 problem body as the gateway and auth service send it.
 * @typedef {{ code?: string, detail?: string, title?: string }} Problem
 */

/**
 * What `request` resolves to.
 * @typedef {object} Result
 * @property {boolean} ok
 * @property {number} status 0 when the gateway could not be reached
 * @property {any} data the parsed JSON body, or null; readers check its shape
 * @property {Problem | null} problem the problem body of a failed request ({} when it had none)
 * @property {Response | null} response
 */

/**
 * The part of a Result that `problemMessage` reads (pages also build one for their own failures).
 * @typedef {{ status: number, problem?: Problem | null, response?: Response | null }} Failure
 */

/**
 * Value of a cookie readable by scripts, or '' when absent.
 * @param {string} name
 * @returns {string}
 */
function readCookie(name) {
  const parts = document.cookie ? document.cookie.split(';') : [];
  for (const raw of parts) {
    const part = raw.trim();
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq) === name) {
      const value = part.slice(eq + 1);
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return '';
}

/** @returns {string} */
function csrfToken() {
  for (const name of CSRF_COOKIES) {
    const value = readCookie(name);
    if (value) return value;
  }
  return '';
}

/**
 * fetch() with JSON in and out. Resolves to {ok, status, data, problem, response};
 * a network failure resolves to {ok:false, status:0, problem:{...}}.
 * Every request that changes state carries X-CSRF-Token from the CSRF cookie.
 * @param {string} method
 * @param {string} url
 * @param {unknown} [body]
 * @returns {Promise<Result>}
 */
export function request(method, url, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  /** @type {RequestInit} */
  const init = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = csrfToken();
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetch(url, init).then(
    function (response) {
      const type = response.headers.get('Content-Type') || '';
      const parse = /json/i.test(type) && response.status !== 204
        ? response.json().catch(function () { return null; })
        : Promise.resolve(null);
      return parse.then(function (data) {
        /** @type {Result} */
        const result = { ok: response.ok, status: response.status, data: data, problem: null, response: response };
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

/**
 * Seconds from a Retry-After header (delta-seconds or HTTP-date), or null.
 * @param {Response | null | undefined} response
 * @returns {number | null}
 */
export function retryAfterSeconds(response) {
  let value = response && response.headers.get('Retry-After');
  if (!value) return null;
  value = value.trim();
  if (/^\d+$/.test(value)) return parseInt(value, 10);
  const date = Date.parse(value);
  if (isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/**
 * A friendly sentence for a failed request.
 * @param {Failure} result
 * @returns {string}
 */
export function problemMessage(result) {
  const problem = result.problem || {};
  const code = problem.code;
  if (code === 'rate_limited' || result.status === 429) {
    const wait = retryAfterSeconds(result.response);
    return wait !== null && wait > 0
      ? 'Too many attempts. Please wait ' + describeWait(wait) + ' and try again.'
      : (text(problem.detail) || 'Too many attempts. Please wait a moment and try again.');
  }
  if (code === 'csrf') {
    // The gateway says what to do (e.g. which address to open); reloading rarely helps.
    return text(problem.detail) || 'This request was blocked as a security precaution. Reload the page and try again.';
  }
  if (code === 'network') return /** @type {string} */ (problem.detail);
  const detail = text(problem.detail) || text(problem.title);
  if (detail) return detail;
  if (code === 'invalid_credentials') return 'The username or password is incorrect.';
  if (result.status >= 500) return 'Gatehouse is temporarily unavailable. Please try again in a moment.';
  if (result.status === 401) return 'Your session has ended. Please sign in again.';
  if (result.status === 403) return 'You are not allowed to do that.';
  return 'Something went wrong. Please try again.';
}

/**
 * The code of a failed request's problem, if any.
 * @param {Failure} result
 * @returns {string | undefined}
 */
export function problemCode(result) {
  return (result.problem && result.problem.code) || undefined;
}

/**
 * Signs in with a password, naming this device.
 * @param {string} username
 * @param {string} password
 * @param {boolean} remember
 * @returns {Promise<Result>}
 */
export function signIn(username, password, remember) {
  return request('POST', '/auth/signin', {
    username: username,
    password: password,
    device_name: deviceName(),
    remember: remember,
  });
}

/**
 * The array of a list answer: the body itself, or its `key` field.
 * @param {unknown} data
 * @param {string} key
 * @returns {any[]}
 */
export function listOf(data, key) {
  if (Array.isArray(data)) return data;
  if (data && typeof data === 'object') {
    const field = /** @type {Record<string, unknown>} */ (data)[key];
    if (Array.isArray(field)) return field;
  }
  return [];
}

/**
 * The notes of a notes answer (the notes service sends `{notes}`; `{items}` is accepted too).
 * @param {unknown} data
 * @returns {any[]}
 */
export function noteList(data) {
  if (Array.isArray(data)) return data;
  if (data && typeof data === 'object' && 'notes' in data && Array.isArray(data.notes)) return data.notes;
  return listOf(data, 'items');
}
