import { afterAll, describe, expect, it } from 'vitest';
import {
  createPrivateDatabase,
  freePort,
  killLeftovers,
  masterKey,
  PrivateRedis,
  removeTempDirs,
  type RoleProcess,
  scaleOutReady,
  signOut,
  signUpAndIn,
  startRole,
  tempDir,
  waitFor,
  writeClusterConfig,
} from './cluster.test-helpers.js';

// Issue 16 part 1: `gatehouse gateway --workers 2` on PostgreSQL + Redis, beside one
// `gatehouse auth`. Each worker subscribes to the Redis feed itself; /metrics of either worker
// counts both; SIGTERM stops both. Fresh connections (`Connection: close`) are handed to the
// workers round-robin, and the access log lines name the worker that wrote them.

const SUITE = 'gateway --workers tests';
const ready = await scaleOutReady(SUITE);

afterAll(async () => {
  await killLeftovers();
  removeTempDirs();
});

function workersThatAnswered(stderr: string, path: string, status: number): Set<number> {
  const out = new Set<number>();
  for (const l of stderr.split('\n')) {
    if (!l.startsWith('{')) continue;
    const j = JSON.parse(l) as { event?: string; path?: string; status?: number; worker?: number };
    if (j.event === 'http.access' && j.path === path && j.status === status && j.worker !== undefined) out.add(j.worker);
  }
  return out;
}

async function fresh(url: string, path: string, n: number, cookie: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(url + path, { headers: { connection: 'close', cookie } });
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

describe.skipIf(!ready)('gatehouse gateway --workers 2 (PostgreSQL + Redis)', () => {
  it('serves through both workers, a sign-out reaches both through Redis, /metrics counts both, SIGTERM stops all', async () => {
    const redis = new PrivateRedis();
    const [db] = await Promise.all([createPrivateDatabase('gh_wk'), redis.start()]);
    const procs: RoleProcess[] = [];
    try {
      const [authPort, port] = await Promise.all([freePort(), freePort()]);
      const env = {
        GATEHOUSE_DATABASE_URL: db.url,
        GATEHOUSE_REDIS_URL: redis.url,
        GATEHOUSE_MASTER_KEY: masterKey(),
        GATEHOUSE_CONFIG: writeClusterConfig(tempDir(), { log: { access: true } }),
        GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      };
      procs.push(await startRole('auth', { port: authPort, env }));
      const gw = await startRole('gateway', {
        port,
        env: { ...env, GATEHOUSE_AUTH_URL: `http://127.0.0.1:${authPort}`, GATEHOUSE_WORKERS: '2', GATEHOUSE_LOG_LEVEL: 'info', GATEHOUSE_LOG_FORMAT: 'json' },
      });
      procs.push(gw);
      const m = /workers:\s+2 gateway processes on one port \(pids (\d+), (\d+); primary (\d+)\)/.exec(gw.stdout());
      expect(m, gw.stdout()).not.toBeNull();
      const pids = new Set([Number(m![1]), Number(m![2])]);
      expect(gw.stdout()).toMatch(/stores:.*revocation feed: Redis pub\/sub/);

      const s = await signUpAndIn(gw.url, 'gw-workers');
      expect(await fresh(gw.url, '/api/home', 4, s.cookie)).toEqual([200, 200, 200, 200]);
      expect(workersThatAnswered(gw.stderr(), '/api/home', 200)).toEqual(pids);

      expect((await signOut(gw.url, s)).status).toBe(204);
      // Redis pub/sub reaches each worker within milliseconds (the bound across machines); 5 s is generous.
      await waitFor('every worker refuses the cookie', async () => (await fresh(gw.url, '/api/home', 4, s.cookie)).every((st) => st === 401), 5000, 20);
      expect(workersThatAnswered(gw.stderr(), '/api/home', 401)).toEqual(pids);

      const text = await (await fetch(`${gw.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('gatehouse_gateway_requests_total{route="/api/home",outcome="upstream_2xx"} '));
      expect(line).toBe('gatehouse_gateway_requests_total{route="/api/home",outcome="upstream_2xx"} 4');
      expect(text).toContain('gatehouse_revocation_feed_mode{mode="pubsub"} 1');

      expect(await gw.stop('SIGTERM')).toBe(0);
      expect(gw.stdout()).toContain('Gatehouse gateway stopped.');
      for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      await Promise.all(procs.map((p) => p.stop('SIGKILL')));
      await redis.kill();
      await db.drop();
    }
  });
});
