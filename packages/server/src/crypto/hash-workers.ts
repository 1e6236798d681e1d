import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Options } from '@node-rs/argon2';

/**
 * The worker's whole program (CommonJS, run with `eval`, so it needs no file of its own in
 * src/ or dist/ and works the same from TypeScript tests and the built CLI). It lowers its
 * own thread's priority (Linux: setpriority on the thread id read from /proc/thread-self
 * touches that thread only), then computes argon2id synchronously, one job at a time.
 * Passwords arrive by postMessage (in-process memory) and are never logged.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const argon2 = require(workerData.argon2);
let tid = null;
let nice = null;
try {
  tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  if (workerData.nice > 0) {
    require('node:os').setPriority(tid, workerData.nice);
    nice = require('node:os').getPriority(tid);
  }
} catch {
  // Not Linux, or not allowed: hashing still runs off the event loop, at normal priority.
}
parentPort.postMessage({ ready: true, tid, nice });
parentPort.on('message', (job) => {
  let reply;
  try {
    const value = job.op === 'hash' ? argon2.hashSync(job.password, job.options) : argon2.verifySync(job.phc, job.password);
    reply = { id: job.id, ok: true, value };
  } catch (err) {
    reply = { id: job.id, ok: false, message: err && err.message ? String(err.message) : 'argon2 failed' };
  }
  parentPort.postMessage(reply);
});
`;

const argon2Path = createRequire(import.meta.url).resolve('@node-rs/argon2');

/**
 * The hashing machinery failed (a thread died, or the pool was closed), as opposed to argon2
 * refusing its input: the caller must not read it as "wrong password".
 */
export class HashThreadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HashThreadError';
  }
}

type Job =
  | { id: number; op: 'hash'; password: string; options: Options }
  | { id: number; op: 'verify'; phc: string; password: string };

interface Pending {
  job: Job;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

type WorkerReply = { ready: true; tid: number | null; nice: number | null } | { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

class HashThread {
  readonly worker: Worker;
  current: Pending | null = null;
  /** The OS thread id and the nice value it runs at (null where it could not be read or set). */
  info: { tid: number | null; nice: number | null } | null = null;

  constructor(
    nice: number,
    private readonly onIdle: (t: HashThread) => void,
    private readonly onGone: (t: HashThread, err: Error) => void,
  ) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { argon2: argon2Path, nice }, stdout: false, stderr: false });
    this.worker.unref();
    this.worker.on('message', (msg: WorkerReply) => {
      if ('ready' in msg) {
        this.info = { tid: msg.tid, nice: msg.nice };
        return;
      }
      const p = this.current;
      if (p === null || p.job.id !== msg.id) return;
      this.current = null;
      this.worker.unref();
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new Error(msg.message));
      this.onIdle(this);
    });
    this.worker.on('error', (err) => this.gone(new HashThreadError('the hashing thread failed', { cause: err })));
    this.worker.on('exit', (code) => this.gone(new HashThreadError(`the hashing thread exited (code ${code})`)));
  }

  run(p: Pending): void {
    this.current = p;
    // Busy: keep the process alive until the answer comes (a CLI awaiting one hash).
    this.worker.ref();
    this.worker.postMessage(p.job);
  }

  private gone(err: Error): void {
    const p = this.current;
    this.current = null;
    this.onGone(this, err);
    p?.reject(err);
  }
}

/** The argon2 primitives, injectable so tests can observe concurrency. */
export interface Argon2Impl {
  hash(password: string, options: Options): Promise<string>;
  verify(hashed: string, password: string): Promise<boolean>;
}

export interface HashWorkerPool extends Argon2Impl {
  /** Stops every thread; jobs in flight fail. The pool starts threads again when used later. */
  close(): Promise<void>;
  /** Thread ids and nice values of the running threads (null where unknown), for tests and /readyz-like checks. */
  threads(): Array<{ tid: number | null; nice: number | null }>;
}

/**
 * argon2id on `size` worker threads of their own, started on first use, each at `nice`
 * (0..19) so that under CPU contention the event loop (signed-in traffic) wins over a burst
 * of sign-ins: hashing is the only work a sign-in storm adds, and it is latency-tolerant.
 * `@node-rs/argon2`'s async API would compute on libuv's shared pool at normal priority.
 * The caller caps concurrency (password-hasher.ts); extra jobs here wait in FIFO order.
 */
export function createHashWorkerPool(options: { size: number; nice: number }): HashWorkerPool {
  const size = Math.max(1, Math.floor(options.size));
  const nice = Math.max(0, Math.min(19, Math.floor(options.nice)));
  const live = new Set<HashThread>();
  const idle: HashThread[] = [];
  const queue: Pending[] = [];
  let nextId = 1;

  const onIdle = (t: HashThread): void => {
    const next = queue.shift();
    if (next) t.run(next);
    else idle.push(t);
  };
  const onGone = (t: HashThread, _err: Error): void => {
    live.delete(t);
    const i = idle.indexOf(t);
    if (i >= 0) idle.splice(i, 1);
    // Jobs still queued get a fresh thread.
    const next = queue.shift();
    if (next) dispatch(next);
  };
  function dispatch(p: Pending): void {
    const t = idle.pop() ?? (live.size < size ? spawn() : undefined);
    if (t === undefined) queue.push(p);
    else t.run(p);
  }
  function spawn(): HashThread {
    const t = new HashThread(nice, onIdle, onGone);
    live.add(t);
    return t;
  }
  function submit(job: Job): Promise<unknown> {
    return new Promise((resolve, reject) => dispatch({ job, resolve, reject }));
  }

  return {
    hash: async (password, opts) => String(await submit({ id: nextId++, op: 'hash', password, options: opts })),
    verify: async (phc, password) => (await submit({ id: nextId++, op: 'verify', phc, password })) === true,
    async close() {
      const threads = [...live];
      live.clear();
      idle.length = 0;
      for (const p of queue.splice(0)) p.reject(new HashThreadError('the password hasher was closed'));
      await Promise.all(threads.map((t) => t.worker.terminate()));
    },
    threads: () => [...live].map((t) => t.info ?? { tid: null, nice: null }),
  };
}
