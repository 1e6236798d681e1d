// @ts-check
/**
 * DOM and text helpers shared by every page: element lookup and creation, dates shown as
 * <time> elements, meta lines, device names. User-supplied text is only ever written with
 * textContent.
 */

/**
 * The element with this id. `type` is the element's class, for the type checker: the
 * element is not checked at run time (a page that lacks it fails where it is used).
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {{ new (): T, prototype: T }} [_type]
 * @returns {T}
 */
export function $(id, _type) {
  return /** @type {T} */ (document.getElementById(id));
}

/**
 * A new element, with a class and text when given.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string | null} [className]
 * @param {string | null} [textValue]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, textValue) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (textValue !== undefined && textValue !== null) node.textContent = textValue;
  return node;
}

/**
 * A trimmed string, or '' for anything that is not a string.
 * @param {unknown} value
 * @returns {string}
 */
export function text(value) {
  return typeof value === 'string' ? value.trim() : '';
}

/**
 * A short device name such as "Chrome on Linux", from a user agent string (this browser's
 * when none is given).
 * @param {unknown} [userAgent]
 * @returns {string}
 */
export function deviceName(userAgent) {
  const ua = typeof userAgent === 'string' ? userAgent : (navigator.userAgent || '');
  let browser = 'Browser';
  if (/Edg(e|A|iOS)?\//.test(ua)) browser = 'Edge';
  else if (/OPR\/|Opera/.test(ua)) browser = 'Opera';
  else if (/SamsungBrowser\//.test(ua)) browser = 'Samsung Internet';
  else if (/Firefox\/|FxiOS\//.test(ua)) browser = 'Firefox';
  else if (/Chrome\/|CriOS\/|Chromium\//.test(ua)) browser = 'Chrome';
  else if (/Safari\//.test(ua)) browser = 'Safari';
  else if (/^curl\//i.test(ua)) browser = 'curl';
  else if (/^node|undici/i.test(ua)) browser = 'Node.js';

  let os = '';
  if (/iPhone|iPad|iPod/.test(ua)) os = 'iOS';
  else if (/Android/.test(ua)) os = 'Android';
  else if (/CrOS/.test(ua)) os = 'ChromeOS';
  else if (/Windows/.test(ua)) os = 'Windows';
  else if (/Mac OS X|Macintosh/.test(ua)) os = 'macOS';
  else if (/Linux|X11/.test(ua)) os = 'Linux';

  if (/HeadlessChrome/.test(ua)) browser = 'Headless Chrome';
  return os ? browser + ' on ' + os : browser;
}

// ------------------------------------------------------------------ dates

/**
 * "5 seconds", "3 minutes", "2 hours".
 * @param {number} seconds
 * @returns {string}
 */
export function describeWait(seconds) {
  if (seconds < 60) return seconds + (seconds === 1 ? ' second' : ' seconds');
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 120) return minutes + (minutes === 1 ? ' minute' : ' minutes');
  const hours = Math.ceil(minutes / 60);
  return hours + ' hours';
}

/**
 * @param {Date} date
 * @returns {string}
 */
export function clockTime(date) {
  try {
    return date.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
  } catch {
    return date.toLocaleTimeString();
  }
}

/**
 * A Date from an ISO string or a number (seconds below 1e12, else milliseconds), or null.
 * @param {unknown} value
 * @returns {Date | null}
 */
export function toDate(value) {
  if (value === undefined || value === null || value === '') return null;
  const date = new Date(typeof value === 'number' && value < 1e12 ? value * 1000 : /** @type {string | number} */ (value));
  return isNaN(date.getTime()) ? null : date;
}

/**
 * @param {Date} date
 * @returns {string}
 */
function formatDate(date) {
  try {
    return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  } catch {
    return date.toLocaleString();
  }
}

/**
 * "just now", "5 minutes ago", "in 3 days"; falls back to the full date.
 * @param {Date} date
 * @returns {string}
 */
function relative(date) {
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return seconds <= 0 ? 'just now' : 'in a moment';
  if (typeof Intl === 'undefined' || !Intl.RelativeTimeFormat) return formatDate(date);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour');
  if (abs < 86400 * 45) return rtf.format(Math.round(seconds / 86400), 'day');
  return formatDate(date);
}

/**
 * A <time> element: relative words (or the full date) shown, the full date as its title.
 * @param {unknown} value
 * @param {'relative' | 'absolute'} style
 * @returns {HTMLTimeElement | null}
 */
export function timeElement(value, style) {
  const date = toDate(value);
  if (!date) return null;
  const node = el('time', null, style === 'relative' ? relative(date) : formatDate(date));
  node.dateTime = date.toISOString();
  node.title = formatDate(date);
  return node;
}

/**
 * Appends "Label <time>" to a meta line, with a separator when needed.
 * @param {HTMLElement} line
 * @param {string} label
 * @param {Node | null} node
 */
export function addMeta(line, label, node) {
  if (line.childNodes.length) line.appendChild(document.createTextNode(' · '));
  line.appendChild(document.createTextNode(label));
  if (node) {
    line.appendChild(document.createTextNode(' '));
    line.appendChild(node);
  }
}

/**
 * Copies a secret shown once (an API token, a reset link) from its read-only field: the Clipboard
 * API where the page may use it, else the old `execCommand('copy')` on the selected text (pages
 * served over plain http from a host name), else the text stays selected for Ctrl+C. Says which
 * in `status`.
 * @param {HTMLInputElement} field
 * @param {HTMLElement} status
 * @param {string} what "token", "link": named in the Ctrl+C hint
 */
export function copyShownSecret(field, status, what) {
  const value = field.value;
  function fallback() {
    field.focus();
    field.select();
    field.setSelectionRange(0, value.length);
    let copied = false;
    try {
      copied = document.execCommand('copy');
    } catch {
      copied = false;
    }
    status.textContent = copied ? 'Copied to the clipboard.' : 'The ' + what + ' is selected: press Ctrl+C (or ⌘C) to copy it.';
  }
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(value).then(function () {
      status.textContent = 'Copied to the clipboard.';
    }, fallback);
  } else {
    fallback();
  }
}
