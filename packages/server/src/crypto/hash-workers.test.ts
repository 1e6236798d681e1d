import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createHashWorkerPool, type HashWorkerPool } from './hash-workers.js';
import { ARGON2ID_OPTIONS } from './password-hasher.js';

const onLinux = process.platform === 'linux';

/** The nice value of one thread of this process, from /proc (field 19 of stat). */
function niceOf(tid: number): number {
  const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

const pools: HashWorkerPool[] = [];
function pool(size: number, nice: number): HashWorkerPool {
  const p = createHashWorkerPool({ size, nice });
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('hash worker pool', () => {
  it('hashes and verifies argon2id on its own threads', async () => {
    const p = pool(1, 10);
    const phc = await p.hash('correct horse battery', ARGON2ID_OPTIONS);
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await p.verify(phc, 'correct horse battery')).toBe(true);
    expect(await p.verify(phc, 'correct horse battery!')).toBe(false);
  });

  it.runIf(onLinux)('runs its threads at the configured nice value and leaves the event loop thread alone', async () => {
    const p = pool(2, 10);
    await Promise.all([p.hash('one', ARGON2ID_OPTIONS), p.hash('two', ARGON2ID_OPTIONS)]);
    const threads = p.threads();
    expect(threads).toHaveLength(2);
    for (const t of threads) {
      expect(t.nice).toBe(10);
      expect(niceOf(t.tid!)).toBe(10);
    }
    expect(niceOf(process.pid)).toBe(0);
  });

  it.runIf(onLinux)('nice 0 leaves the threads at normal priority', async () => {
    const p = pool(1, 0);
    await p.hash('x', ARGON2ID_OPTIONS);
    const [t] = p.threads();
    expect(niceOf(t!.tid!)).toBe(0);
  });

  it('a malformed hash rejects (the hasher turns that into false), and the thread keeps working', async () => {
    const p = pool(1, 10);
    await expect(p.verify('not-a-phc-string', 'pw')).rejects.toThrow();
    const phc = await p.hash('still works', ARGON2ID_OPTIONS);
    expect(await p.verify(phc, 'still works')).toBe(true);
    expect(p.threads()).toHaveLength(1);
  });

  it('queues jobs beyond its size and answers each one, in order of submission', async () => {
    const p = pool(1, 10);
    const words = ['alpha', 'bravo', 'charlie', 'delta'];
    const hashes = await Promise.all(words.map((w) => p.hash(w, ARGON2ID_OPTIONS)));
    const checks = await Promise.all(hashes.map((h, i) => p.verify(h, words[i]!)));
    expect(checks).toEqual([true, true, true, true]);
    expect(p.threads()).toHaveLength(1);
  });

  it('close() fails the job in flight and the queue; used again, it starts a fresh thread', async () => {
    const p = pool(1, 10);
    const inFlight = p.hash('in flight', ARGON2ID_OPTIONS);
    const queued = p.hash('queued', ARGON2ID_OPTIONS);
    const settled = Promise.allSettled([inFlight, queued]);
    await p.close();
    const [a, b] = await settled;
    expect(a.status).toBe('rejected');
    expect(b.status).toBe('rejected');
    expect(p.threads()).toHaveLength(0);
    const phc = await p.hash('after close', ARGON2ID_OPTIONS);
    expect(await p.verify(phc, 'after close')).toBe(true);
  });
});
