// @ts-check
/**
 * The sign-up proof of work: finds the number whose SHA-256 the gateway's challenge names,
 * with Web Crypto where the page has it and plain JavaScript where it does not.
 */

/**
 * A challenge from GET /auth/challenge (ALTCHA-style).
 * @typedef {object} Challenge
 * @property {string} challenge hex SHA-256 of salt + number
 * @property {string} salt
 * @property {string} [algorithm]
 * @property {string} [signature]
 * @property {number} [maxnumber]
 * @property {number} [maxNumber]
 */

/**
 * @param {ArrayBuffer} buffer
 * @returns {string}
 */
function hex(buffer) {
  const bytes = new Uint8Array(buffer);
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return out;
}

// SHA-256 in plain JavaScript, for pages served over plain http from a host name, where
// browsers hide crypto.subtle (it needs a secure context). Constants computed as in FIPS 180-4.
/** @type {number[]} */
const SHA_K = [];
/** @type {number[]} */
const SHA_H = [];
function shaConstants() {
  if (SHA_K.length) return;
  let n = 2;
  while (SHA_K.length < 64) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
    if (prime) {
      if (SHA_H.length < 8) SHA_H.push((Math.pow(n, 1 / 2) % 1) * 4294967296 | 0);
      SHA_K.push((Math.pow(n, 1 / 3) % 1) * 4294967296 | 0);
    }
    n++;
  }
}

/**
 * @param {number} x
 * @param {number} n
 * @returns {number}
 */
function rotr(x, n) {
  return (x >>> n) | (x << (32 - n));
}

/**
 * @param {string} message
 * @returns {string}
 */
export function sha256HexJs(message) {
  shaConstants();
  const bytes = new TextEncoder().encode(message);
  const length = bytes.length;
  const total = (((length + 9 + 63) / 64) | 0) * 64;
  const m = new Uint8Array(total);
  m.set(bytes);
  m[length] = 0x80;
  const view = new DataView(m.buffer);
  const bits = length * 8;
  view.setUint32(total - 8, Math.floor(bits / 4294967296));
  view.setUint32(total - 4, bits >>> 0);
  const h = SHA_H.slice();
  const w = new Int32Array(64);
  for (let off = 0; off < total; off += 64) {
    let t;
    for (t = 0; t < 16; t++) w[t] = view.getInt32(off + t * 4);
    for (t = 16; t < 64; t++) {
      const x = w[t - 15];
      const y = w[t - 2];
      const s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
      const s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
    }
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (t = 0; t < 64; t++) {
      const t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + SHA_K[t] + w[t]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
  }
  let out = '';
  for (let i = 0; i < 8; i++) out += ('00000000' + (h[i] >>> 0).toString(16)).slice(-8);
  return out;
}

// Absent (undefined) where the page is not a secure context.
const subtle = globalThis.crypto && globalThis.crypto.subtle;

/**
 * @param {string} message
 * @returns {Promise<string>}
 */
function sha256Hex(message) {
  if (!subtle) return Promise.resolve(sha256HexJs(message));
  return subtle.digest('SHA-256', new TextEncoder().encode(message)).then(hex);
}

/**
 * Finds `number` in 0..maxnumber with hex(SHA-256(salt + number)) === challenge, in chunks
 * so the page stays responsive. Resolves to the number, or null when there is none.
 * @param {Challenge} challenge
 * @param {(fraction: number) => void} onProgress
 * @returns {Promise<number | null>}
 */
export function solveChallenge(challenge, onProgress) {
  let max = Number(challenge.maxnumber !== undefined ? challenge.maxnumber : challenge.maxNumber);
  if (!isFinite(max) || max < 0) max = 1000000;
  const target = String(challenge.challenge).toLowerCase();
  const salt = String(challenge.salt);
  const chunk = subtle ? 1000 : 250;
  let n = 0;
  return new Promise(function (resolve, reject) {
    function step() {
      const start = n;
      const end = Math.min(n + chunk, max + 1);
      const hashes = [];
      for (let i = start; i < end; i++) hashes.push(sha256Hex(salt + i));
      Promise.all(hashes).then(function (found) {
        for (let j = 0; j < found.length; j++) {
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

/**
 * The `challenge` field of a sign-up: base64 of the JSON solution.
 * @param {Challenge} challenge
 * @param {number} number
 * @returns {string}
 */
export function challengePayload(challenge, number) {
  return btoa(JSON.stringify({
    algorithm: challenge.algorithm,
    challenge: challenge.challenge,
    number: number,
    salt: challenge.salt,
    signature: challenge.signature,
  }));
}
