// The CPU cost of one TOTP check (issue 17), as the second step of a sign-in does it minus the
// store: open the secret (compact JWE, dir + A256GCM, under the HKDF of the master key) and
// validate a code against the current step ± 1 (otpauth: HMAC-SHA1, RFC 6238). A right code
// finds its step at once; a wrong one tries all three steps (the worst case), so both are timed.
//
//   node bench/totp-check.mjs [--rounds 7] [--n 20000]
//
// Reads packages/server/dist (npm run build first). CPU of this process per check
// (process.cpuUsage, user + system), median over rounds. Bounded: rounds x n x 2 checks (~10 s).
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { median } from './cluster.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, n: { type: 'string', default: '20000' } } });
const ROUNDS = Math.max(3, Math.min(Number(values.rounds), 51));
const N = Math.max(100, Math.min(Number(values.n), 200_000));
const totp = await import(new URL('../packages/server/dist/auth/mfa/totp.js', import.meta.url).href);
const { deriveMfaSecretKey } = await import(new URL('../packages/server/dist/auth/derived-keys.js', import.meta.url).href);

const deps = { mfaKey: deriveMfaSecretKey(new Uint8Array(randomBytes(32))) };
const secret = totp.newTotpSecret();
const jwe = await totp.sealTotpSecret(deps, 'user-1', secret);
const now = Date.now();
const right = totp.totpCodeAt(secret, now);
const wrong = right === '000000' ? '111111' : '000000';

async function check(code) {
  const s = await totp.openTotpSecret(deps, 'user-1', jwe);
  return totp.totpStepOf(s, code, now);
}

async function round(code) {
  const before = process.cpuUsage();
  for (let i = 0; i < N; i++) await check(code);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / N;
}

if ((await check(right)) === null || (await check(wrong)) !== null) throw new Error('the check does not tell a right code from a wrong one');
for (let i = 0; i < 2000; i++) await check(right); // warm up
const rightUs = [];
const wrongUs = [];
for (let r = 0; r < ROUNDS; r++) {
  rightUs.push(await round(right));
  wrongUs.push(await round(wrong));
}
console.log(`TOTP check (open the sealed secret + validate, window ±1), ${ROUNDS} rounds x ${N}: right code ${median(rightUs).toFixed(1)} µs CPU, wrong code ${median(wrongUs).toFixed(1)} µs CPU (node ${process.version})`);
