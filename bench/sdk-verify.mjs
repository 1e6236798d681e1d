#!/usr/bin/env node
// SDK passport verifications per second, with and without its verified-token cache, vs. a raw
// node:crypto Ed25519 verify of the same bytes. In process, no network; bounded by time:
// ROUNDS x 3 variants x DURATION seconds (at most 10 x 3 x 10 s). Needs `npm run build`.
//   node bench/sdk-verify.mjs [--duration 2] [--rounds 3]
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SignJWT, exportJWK } from 'jose';
import { createPassportVerifier } from '../packages/sdk/dist/index.js';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '2' }, rounds: { type: 'string', default: '3' } } });
const DURATION_MS = Math.min(Number(values.duration), 10) * 1000;
const ROUNDS = Math.min(Number(values.rounds), 10);
const ISSUER = 'http://127.0.0.1:8080';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'EdDSA', use: 'sig' }] };
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ sub: 'u1', username: 'bench-user', roles: ['staff'], sid: 's1', did: 'd1', auth: 'session', jti: 'j1' })
  .setProtectedHeader({ alg: 'EdDSA', typ: 'passport+jwt', kid: 'bench' })
  .setIssuer(ISSUER)
  .setAudience('bench')
  .setIssuedAt(now)
  .setExpirationTime(now + 3600)
  .sign(privateKey);

const cached = createPassportVerifier({ jwks: () => jwks, issuer: ISSUER, audience: 'bench', maxTokenAgeSec: 3600 });
const uncached = createPassportVerifier({ jwks: () => jwks, issuer: ISSUER, audience: 'bench', maxTokenAgeSec: 3600, cacheMax: 0 });
const dot = token.lastIndexOf('.');
const data = Buffer.from(token.slice(0, dot));
const sig = Buffer.from(token.slice(dot + 1), 'base64url');
const key = createPublicKey(publicKey.export({ type: 'spki', format: 'pem' }));

/** Runs `fn` back to back for DURATION_MS; returns operations per second. */
async function measure(fn, isAsync) {
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < 256; i++) {
      if (isAsync) await fn();
      else if (!fn()) throw new Error('raw verify failed');
    }
    n += 256;
    elapsed = performance.now() - start;
  } while (elapsed < DURATION_MS);
  return (n / elapsed) * 1000;
}

const variants = [
  ['sdk, verified-token cache', () => cached.verify(token), true],
  ['sdk, no cache (cacheMax 0)', () => uncached.verify(token), true],
  ['raw node:crypto Ed25519 verify', () => verify(null, data, key, sig), false],
];
// Sanity and warm-up.
for (const [, fn, isAsync] of variants) {
  const r = await fn();
  if (isAsync ? r.sub !== 'u1' : !r) throw new Error('verification failed');
}
const results = new Map();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn, isAsync] of variants) {
    const ops = await measure(fn, isAsync);
    (results.get(name) ?? results.set(name, []).get(name)).push(ops);
    console.log(`round ${round + 1} ${name.padEnd(32)} ${Math.round(ops)} verify/s`);
  }
}
const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
const raw = mean(results.get('raw node:crypto Ed25519 verify'));
console.log('');
for (const [name] of variants) {
  const m = mean(results.get(name));
  console.log(`${name.padEnd(32)} ${String(Math.round(m)).padStart(9)} verify/s  (${(m / raw).toFixed(2)}x raw Ed25519; ${(1e6 / m).toFixed(2)} µs each)`);
}
console.log(`(${ROUNDS} x ${DURATION_MS / 1000}s per variant, interleaved, Node ${process.version}, ${new Date().toISOString()})`);
