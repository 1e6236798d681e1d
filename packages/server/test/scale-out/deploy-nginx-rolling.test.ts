import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePostgres, requireRedisServerBinary, TEST_DATABASE_URL } from '../../src/stores/postgres/test-env.test-helpers.js';
import { HOST, lookupHostHere, NGINX, nginxConfigFromTemplate, selfSignedCert, startNginx, type RunningNginx } from '../e2e/nginx.test-helpers.js';
import {
  cliHasRoles,
  createPrivateDatabase,
  freePort,
  killLeftovers,
  masterKey,
  PASSWORD,
  PrivateRedis,
  removeTempDirs,
  sleep,
  startRole,
  tempDir,
  writeClusterConfig,
  type PrivateDatabase,
  type RoleProcess,
} from './cluster.test-helpers.js';

// docs/deployment.md, "Upgrades", tried: two `gatehouse gateway`s and one `gatehouse auth` on a
// private PostgreSQL database and a private Redis, behind the shipped nginx site (its upstream
// block listing both gateways), over https. One gateway is restarted (SIGTERM, then a new
// process on the same port, as `systemctl restart` does) while clients keep sending signed-in
// requests through nginx: not one of them may fail.

const SUITE = 'nginx rolling restart';
const ready = (await requirePostgres(TEST_DATABASE_URL, SUITE)) && (await requireRedisServerBinary()) && NGINX !== undefined;
if (ready && !cliHasRoles()) throw new Error('The built CLI has no `gatehouse auth` / `gatehouse gateway` (run `npm run build`).');

describe.skipIf(!ready)('deployment: rolling a gateway behind nginx', () => {
  let db: PrivateDatabase;
  const redis = new PrivateRedis();
  let nginx: RunningNginx | undefined;
  let agent: Agent;

  beforeAll(async () => {
    [db] = await Promise.all([createPrivateDatabase(), redis.start()]);
  }, 30_000);
  afterAll(async () => {
    await nginx?.stop();
    await agent?.close();
    await killLeftovers();
    await Promise.all([db?.drop(), redis.kill()]);
    removeTempDirs();
  });

  it('restarting one of two gateways under load through nginx: 0 failed requests, the new process serves again', async () => {
    const dir = tempDir('gatehouse-nginx-');
    const { cert, key } = selfSignedCert(dir);
    const [httpPort, httpsPort, portA, portB] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const origin = `https://${HOST}:${httpsPort}`;
    const env = {
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_REDIS_URL: redis.url,
      GATEHOUSE_MASTER_KEY: masterKey(),
      GATEHOUSE_PUBLIC_URL: origin,
      GATEHOUSE_CONFIG: writeClusterConfig(tempDir(), { gateway: { trustedProxies: ['127.0.0.1'] } }),
    };
    const auth = await startRole('auth', { env });
    const gwEnv = { ...env, GATEHOUSE_AUTH_URL: auth.url };
    let a: RoleProcess = await startRole('gateway', { port: portA, env: gwEnv });
    const b = await startRole('gateway', { port: portB, env: gwEnv });
    nginx = await startNginx(dir, nginxConfigFromTemplate({ http: httpPort, https: httpsPort, gateways: [portA, portB], cert, key }), httpsPort);
    agent = new Agent({ connect: { ca: readFileSync(cert), lookup: lookupHostHere }, keepAliveTimeout: 30_000 });

    const json = { 'content-type': 'application/json', origin };
    const up = await request(`${origin}/auth/signup`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'rolling-nginx', password: PASSWORD }), dispatcher: agent });
    expect(up.statusCode, await up.body.text()).toBe(201);
    const signin = await request(`${origin}/auth/signin`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'rolling-nginx', password: PASSWORD }), dispatcher: agent });
    expect(signin.statusCode).toBe(200);
    const csrf = ((await signin.body.json()) as { csrf_token: string }).csrf_token;
    const setCookie = signin.headers['set-cookie'];
    const cookie = (Array.isArray(setCookie) ? setCookie : [setCookie ?? ''])
      .map((c) => c.split(';')[0]!)
      .join('; ');
    expect(cookie).toContain('__Host-gatehouse_session=');

    // Closed-loop clients through nginx, bounded in time.
    const failures: string[] = [];
    let total = 0;
    let stopped = false;
    const started = performance.now();
    const worker = async (w: number) => {
      while (!stopped && performance.now() - started < 30_000) {
        try {
          // Half the clients write (POST, which nginx never sends twice), half read.
          const res =
            w % 2 === 0
              ? await request(`${origin}/api/home/whoami`, { headers: { cookie }, dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 })
              : await request(`${origin}/api/notes`, {
                  method: 'POST',
                  headers: { ...json, cookie, 'x-csrf-token': csrf },
                  body: JSON.stringify({ text: 'written during a rolling restart' }),
                  dispatcher: agent,
                  headersTimeout: 5000,
                  bodyTimeout: 5000,
                });
          const body = await res.body.text();
          if (res.statusCode !== 200 && res.statusCode !== 201) failures.push(`${res.statusCode} ${body.slice(0, 120)}`);
        } catch (err) {
          failures.push(String(err));
        }
        total++;
      }
    };
    const workers = Array.from({ length: 6 }, (_, w) => worker(w));
    await sleep(1000);

    // `systemctl restart gatehouse-gateway` on host A: SIGTERM, drain, exit; the new build starts.
    expect(await a.stop('SIGTERM')).toBe(0);
    a = await startRole('gateway', { port: portA, env: gwEnv });
    await sleep(1500);
    stopped = true;
    await Promise.all(workers);

    console.log(`rolling restart behind nginx: ${total} requests over ${Math.round(performance.now() - started)} ms, ${failures.length} failed`);
    expect(failures.slice(0, 5), `${failures.length} of ${total} failed; nginx: ${nginx.log().slice(-500)}`).toEqual([]);
    expect(total).toBeGreaterThan(50);
    // The restarted gateway answers again (straight, as nginx's health check would see it).
    const readyz = await request(`${a.url}/readyz`);
    expect(readyz.statusCode).toBe(200);
    await readyz.body.dump();
    await Promise.all([a.stop(), b.stop(), auth.stop()]);
  }, 90_000);
});
