/**
 * Issue 12, end to end with the built CLI: `localhost` is not `127.0.0.1`. With no public URL,
 * `gatehouse start` prints http://127.0.0.1:<port>; someone who types http://localhost:<port>
 * must be able to sign up and sign in there (before: 403 csrf "reload the page", nothing
 * logged). A bind to every interface must not produce an impossible origin (0.0.0.0).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { browser, startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';

let gh: StartedGatehouse | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await gh?.stop();
  gh = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}): Promise<StartedGatehouse> {
  dataDir = tempDataDir();
  const config = join(dataDir, 'gatehouse.json');
  writeFileSync(config, JSON.stringify({ signup: { perIpPerMinute: 0, autoChallenge: { perIpPerMinute: 0, globalPerMinute: 0 } } }));
  gh = await startGatehouse(dataDir, { GATEHOUSE_CONFIG: config, GATEHOUSE_LOG_LEVEL: 'info', ...env });
  return gh;
}

/** Sign-up, sign-in and a CSRF-checked write, as a page served at `base` sends them. */
async function signUpInAndOut(base: string, username: string): Promise<number[]> {
  const b = browser(base);
  const origin = { origin: base, 'sec-fetch-site': 'same-origin' };
  const password = 'correct horse battery staple';
  const up = await b.fetch('/auth/signup', { method: 'POST', headers: origin, json: { username, password } });
  const signin = await b.fetch('/auth/signin', { method: 'POST', headers: origin, json: { username, password } });
  const csrf = signin.status === 200 ? ((await signin.json()) as { csrf_token: string }).csrf_token : '';
  const me = await b.fetch('/auth/me');
  const out = await b.fetch('/auth/signout', { method: 'POST', headers: { ...origin, 'x-csrf-token': csrf } });
  return [up.status, signin.status, me.status, out.status];
}

describe('no public URL: the loopback names of the bound address work', () => {
  it('signs up, in and out at http://localhost:<port> and http://127.0.0.1:<port>; a foreign origin is refused and logged', async () => {
    const g = await start();
    expect(g.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const local = g.url.replace('127.0.0.1', 'localhost');
    expect(await signUpInAndOut(local, 'alice')).toEqual([201, 200, 200, 204]);
    expect(await signUpInAndOut(g.url, 'bob')).toEqual([201, 200, 200, 204]);

    const res = await fetch(`${local}/auth/signin`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'x' }) });
    expect(res.status).toBe(403);
    const problem = (await res.json()) as { code: string; detail: string };
    expect(problem.code).toBe('csrf');
    expect(problem.detail).toContain(`Open ${g.url}`);
    // The line is written before the answer, but the child's stderr pipe and the answer's socket
    // reach this process in either order on a loaded machine: wait for it (up to 5 s).
    let line: string | undefined;
    for (const until = Date.now() + 5_000; line === undefined && Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      line = g.stderr().split('\n').find((l) => l.includes('cross-site request refused'));
    }
    expect(line, g.stderr()).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: 'info', origin: 'https://evil.example', expected: g.url });
  });

  it('a bind to 0.0.0.0 prints and expects http://127.0.0.1:<port>, and localhost works too', async () => {
    const g = await start({ GATEHOUSE_HOST: '0.0.0.0' });
    expect(g.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await signUpInAndOut(g.url.replace('127.0.0.1', 'localhost'), 'carol')).toEqual([201, 200, 200, 204]);
    expect(await signUpInAndOut(g.url, 'dave')).toEqual([201, 200, 200, 204]);
  });
});
