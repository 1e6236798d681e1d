// CPU cost of verifying one WebAuthn assertion (ES256, @simplewebauthn/server 13) — the
// library call alone, as /auth/signin/passkey makes it (store and HTTP not included).
// Usage: node bench/webauthn-verify.mjs [iterations]
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import { isoBase64URL, isoCBOR } from '@simplewebauthn/server/helpers';

const N = Number(process.argv[2] ?? 2000);
const rpID = 'auth.example.com';
const origin = `https://${rpID}`;
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = publicKey.export({ format: 'jwk' });
const cose = isoCBOR.encode(new Map([[1, 2], [3, -7], [-1, 1], [-2, isoBase64URL.toBuffer(jwk.x)], [-3, isoBase64URL.toBuffer(jwk.y)]]));
const sha = (b) => createHash('sha256').update(b).digest();
const id = 'AQIDBAUGBwgJCgsMDQ4PEA';
const responses = [];
for (let i = 1; i <= N; i++) {
  const challenge = Buffer.from(`challenge-${i}-${'x'.repeat(20)}`).toString('base64url');
  const c = Buffer.alloc(4);
  c.writeUInt32BE(i);
  const authData = Buffer.concat([sha(rpID), Buffer.from([0x1d]), c]);
  const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin })).toString('base64url');
  const signature = sign('sha256', Buffer.concat([authData, sha(Buffer.from(clientDataJSON, 'base64url'))]), privateKey);
  responses.push({ challenge, response: { id, rawId: id, type: 'public-key', clientExtensionResults: {}, response: { clientDataJSON, authenticatorData: authData.toString('base64url'), signature: signature.toString('base64url') } } });
}
const verifyOne = ({ challenge, response }, counter) =>
  verifyAuthenticationResponse({ response, expectedChallenge: challenge, expectedOrigin: origin, expectedRPID: rpID, credential: { id, publicKey: cose, counter }, requireUserVerification: true });
for (let i = 0; i < Math.min(200, N); i++) await verifyOne(responses[i], i); // warm-up
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) {
  const r = await verifyOne(responses[i], i);
  if (!r.verified) throw new Error('not verified');
}
const wall = Number(process.hrtime.bigint() - t0) / 1e3 / N;
const cpu = process.cpuUsage(cpu0);
console.log(`webauthn assertion verify (ES256): ${((cpu.user + cpu.system) / N).toFixed(1)} µs CPU, ${wall.toFixed(1)} µs wall per verification (${N} runs, node ${process.version})`);
