import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

// pow.js runs in browsers; it touches no DOM, so node can load it as it is served.
interface Challenge {
  challenge: string;
  salt: string;
  algorithm?: string;
  signature?: string;
  maxnumber?: number;
}
interface Pow {
  sha256HexJs(message: string): string;
  solveChallenge(challenge: Challenge, onProgress: (fraction: number) => void): Promise<number | null>;
  challengePayload(challenge: Challenge, number: number): string;
}
const pow = (await import(new URL('../public/assets/js/pow.js', import.meta.url).href)) as Pow;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('the proof of work of the sign-up page', () => {
  it('its plain-JavaScript SHA-256 (for pages without crypto.subtle) matches node:crypto, across block boundaries and in UTF-8', () => {
    const messages = ['', 'abc', 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(63), 'a'.repeat(64), 'a'.repeat(65), 'x'.repeat(1000), 'salt123456', 'é€😀 naïve'];
    for (let i = 0; i < 20; i++) messages.push(randomBytes(1 + i * 7).toString('base64'));
    for (const m of messages) expect(pow.sha256HexJs(m), JSON.stringify(m)).toBe(sha256(m));
  });

  it('solves a challenge, reports progress up to 1, and encodes the solution as the sign-up expects', async () => {
    const salt = randomBytes(6).toString('hex') + '?expires=1';
    const challenge: Challenge = { algorithm: 'SHA-256', salt, challenge: sha256(salt + 4321), signature: 'sig', maxnumber: 5000 };
    const progress: number[] = [];
    const number = await pow.solveChallenge(challenge, (f) => progress.push(f));
    expect(number).toBe(4321);
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(JSON.parse(Buffer.from(pow.challengePayload(challenge, 4321), 'base64').toString())).toEqual({
      algorithm: 'SHA-256',
      challenge: challenge.challenge,
      number: 4321,
      salt,
      signature: 'sig',
    });
  });

  it('resolves to null when no number up to maxnumber fits', async () => {
    const challenge: Challenge = { salt: 's', challenge: sha256('s' + 2001), maxnumber: 2000 };
    expect(await pow.solveChallenge(challenge, () => {})).toBeNull();
  });
});
