// @ts-check
/**
 * Forms: field errors, busy submit buttons, and the local password-strength advice that
 * the sign-up and account pages show.
 */

/** The shortest password the auth service accepts (its default). */
export const MIN_PASSWORD = 8;

/**
 * Shows (or, with '', clears) a field's error and marks the field invalid.
 * @param {HTMLElement} input
 * @param {HTMLElement} errorEl
 * @param {string} message
 */
export function setFieldError(input, errorEl, message) {
  errorEl.textContent = message || '';
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/**
 * Checks a form's fields before it is sent: shows each failed check at its field, focuses
 * the first field that failed, and says whether all passed.
 * @param {Array<[HTMLElement, HTMLElement, string | false]>} checks each [field, its error
 *   element, the error message, or false when the field is fine]
 * @returns {boolean}
 */
export function checkFields(checks) {
  /** @type {HTMLElement | null} */
  let first = null;
  for (const [input, errorEl, message] of checks) {
    if (!message) continue;
    setFieldError(input, errorEl, message);
    first = first || input;
  }
  if (first) first.focus();
  return first === null;
}

/**
 * Disables a form's submit button while its request runs (with its `data-busy-label`).
 * @param {HTMLFormElement} form
 * @param {boolean} busy
 */
export function setBusy(form, busy) {
  const button = form.querySelector('button[type="submit"]');
  if (!(button instanceof HTMLButtonElement)) return;
  if (!button.dataset.label) button.dataset.label = button.textContent || '';
  button.disabled = busy;
  button.textContent = busy ? (button.dataset.busyLabel || button.dataset.label) : button.dataset.label;
  if (busy) form.setAttribute('aria-busy', 'true');
  else form.removeAttribute('aria-busy');
}

// ------------------------------------------------------ password strength

// The most common passwords of 8+ characters, to warn early. The server's list is far
// longer and decides; this only spares a round trip for the obvious ones.
const COMMON_PASSWORDS = [
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

const SEQUENCES = ['0123456789', 'abcdefghijklmnopqrstuvwxyz', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];

/**
 * @param {string} lower
 * @returns {boolean}
 */
function hasSequence(lower) {
  for (let i = 0; i + 4 <= lower.length; i++) {
    const part = lower.slice(i, i + 4);
    const reversed = part.split('').reverse().join('');
    for (const sequence of SEQUENCES) {
      if (sequence.indexOf(part) !== -1 || sequence.indexOf(reversed) !== -1) return true;
    }
  }
  return false;
}

const LEVELS = ['Too short', 'Weak', 'Fair', 'Good', 'Strong'];

/**
 * @typedef {object} Strength
 * @property {number} level 0 (too short) to 4 (strong)
 * @property {string} label
 * @property {string[]} tips
 * @property {number} length in characters (code points)
 * @property {boolean} [common] one of the most common passwords
 */

/**
 * A rough local estimate: {level 0..4, label, tips[]}. Length and character variety,
 * minus the usual patterns. Only advice: the server checks the password for real.
 * @param {string} password
 * @param {string} [username]
 * @returns {Strength}
 */
export function passwordStrength(password, username) {
  const chars = Array.from(password);
  const length = chars.length;
  /** @type {string[]} */
  const tips = [];
  if (length === 0) return { level: 0, label: '', tips: tips, length: 0 };
  const lower = password.toLowerCase();
  const stripped = lower.replace(/[\d!@#$%^&*?._-]+$/, '');
  if (COMMON_PASSWORDS.indexOf(lower) !== -1 || (stripped.length >= 6 && COMMON_PASSWORDS.indexOf(stripped) !== -1)) {
    return { level: length < MIN_PASSWORD ? 0 : 1, label: length < MIN_PASSWORD ? LEVELS[0] : 'Very weak', common: true, length: length,
      tips: ['This is one of the most common passwords and would be guessed at once. Choose another.'] };
  }
  let pool = 0;
  if (/[a-z]/.test(password)) pool += 26;
  if (/[A-Z]/.test(password)) pool += 26;
  if (/\d/.test(password)) pool += 10;
  if (/[^A-Za-z0-9]/.test(password)) pool += 33;
  if (/[^\u0000-\u007f]/.test(password)) pool += 100;
  const distinct = new Set(chars).size;
  let bits = length * Math.log2(Math.max(pool, 2));
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
  const name = (username || '').trim().toLowerCase();
  if (name.length >= 3 && lower.indexOf(name) !== -1) {
    bits *= 0.5;
    tips.push("Don't use your username in your password.");
  }
  let level;
  if (length < MIN_PASSWORD) level = 0;
  else if (bits < 40) level = 1;
  else if (bits < 60) level = 2;
  else if (bits < 80) level = 3;
  else level = 4;
  if (level === 0) tips.unshift('Use at least ' + MIN_PASSWORD + ' characters (' + length + ' so far).');
  else if (level < 3 && tips.length === 0) tips.push('Longer is stronger: try a few unrelated words.');
  return { level: level, label: /** @type {string} */ (LEVELS[level]), tips: tips, length: length };
}

/**
 * Wires a password input to its meter and live text; returns the update function (for
 * when the username changes, or the field is cleared by the page).
 * @param {HTMLInputElement} input
 * @param {HTMLElement} meter
 * @param {HTMLElement} output
 * @param {() => string} [usernameOf]
 * @returns {() => Strength}
 */
export function strengthFeedback(input, meter, output, usernameOf) {
  function update() {
    const result = passwordStrength(input.value, usernameOf ? usernameOf() : '');
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
