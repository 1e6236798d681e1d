import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCodeAt, TOTP_PERIOD_SEC } from '../../src/auth/mfa/totp.js';
import { killLeftovers, PASSWORD, removeTempDirs, scaleOutReady, signInRequest, signUpAndIn, startTwoInstances, type TwoInstances } from './cluster.test-helpers.js';

// Issue 17 on PostgreSQL + Redis with two instances: TOTP set up through A signs in through B
// (the secret is sealed under the shared master key); a code taken on A is refused on B (the
// step is taken in the database, not in one process's memory); of two second steps racing on A
// and B with one ticket exactly one gets a session.

const SUITE = 'second factors scale-out tests';
const ready = await scaleOutReady(SUITE);

afterAll(async () => {
  await killLeftovers();
  removeTempDirs();
});

describe.skipIf(!ready)('TOTP across two instances on PostgreSQL + Redis', () => {
  let cluster: TwoInstances | undefined;
  let A: string;
  let B: string;
  const JSON_HEADERS = { 'content-type': 'application/json' };

  beforeAll(async () => {
    cluster = await startTwoInstances({ dbPrefix: 'gh_mfa', setup: () => ({ config: {} }) });
    ({ A, B } = cluster);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const secondStep = (base: string, body: Record<string, string>) => fetch(`${base}/auth/signin/mfa`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) });
  const ticketFrom = async (base: string, username: string): Promise<string> => {
    const res = await signInRequest(base, username);
    expect(res.status).toBe(401);
    return ((await res.json()) as { mfa_ticket: string }).mfa_ticket;
  };

  it('enrolled on A, signs in on B; a code used on A is refused on B; one ticket gives one session', async () => {
    const s = await signUpAndIn(A, 'mfa-across');
    const headers = { ...JSON_HEADERS, cookie: s.cookie, 'x-csrf-token': s.csrf };
    const enrol = await fetch(`${A}/auth/mfa/totp`, { method: 'POST', headers, body: JSON.stringify({ password: PASSWORD }) });
    expect(enrol.status).toBe(200);
    const { secret } = (await enrol.json()) as { secret: string };
    const t0 = Date.now();
    const confirm = await fetch(`${A}/auth/mfa/totp/confirm`, { method: 'POST', headers, body: JSON.stringify({ code: totpCodeAt(secret, t0) }) });
    expect(confirm.status).toBe(200);

    // The confirming code's step is taken: refused on B.
    const replay = await secondStep(B, { ticket: await ticketFrom(B, 'mfa-across'), code: totpCodeAt(secret, t0) });
    expect(replay.status).toBe(401);
    // A ticket from A, two second steps racing on A and B with the next step's code: one session.
    const ticket = await ticketFrom(A, 'mfa-across');
    const code = totpCodeAt(secret, t0 + TOTP_PERIOD_SEC * 1000);
    const [onA, onB] = await Promise.all([secondStep(A, { ticket, code }), secondStep(B, { ticket, code })]);
    expect([onA.status, onB.status].sort()).toEqual([200, 401]);
    // And the code, once used, is refused everywhere.
    expect((await secondStep(B, { ticket: await ticketFrom(B, 'mfa-across'), code })).status).toBe(401);
  });
});
