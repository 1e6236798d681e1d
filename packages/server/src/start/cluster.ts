import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { existingAuthMetrics } from '../auth/auth-metrics.js';
import { ConfigError } from '../config/load-config.js';
import type { GatehouseConfig } from '../config/types.js';
import { processMetrics } from '../util/process-metrics.js';
import { createLogger, type Logger } from '../util/logger.js';
import { PrimaryLink, WorkerLink, type ClusterMessage } from './cluster-ipc.js';
import { openDeps } from './open-deps.js';
import { Cleanups, shareIssuer, startBackground, urlHost } from './role-support.js';
import { listenAuthService } from './run-auth.js';
import { runGateway, startDemoServices, type DemoUrls } from './run-gateway.js';

/**
 * `--workers N` (gateway.workers): N processes serve the public port through node:cluster (the
 * primary accepts and hands connections round-robin). docs/design-notes.md, "All cores".
 *
 * - `gatehouse start`: the primary opens the stores, runs the migrations, the auth service (so
 *   password hashing and its bound stay in one process, as with one worker), the demo services
 *   and the housekeeping; each worker runs the gateway role on the public port, with its own
 *   caches and revocation set, and talks to the primary's auth service over loopback, as
 *   `gatehouse gateway` talks to `gatehouse auth`.
 * - `gatehouse gateway`: every worker is a gateway role (which hashes nothing); the primary only
 *   supervises, relays and aggregates.
 *
 * Without Redis, a revocation published in any process reaches every other one at once through
 * the primary (cluster-ipc.ts); with Redis each process subscribes itself. /metrics in any worker
 * answers for all of them. A worker that dies is logged and replaced (backing off while
 * replacements die young); a worker that cannot start at all stops the start with its reason.
 * SIGTERM to the primary drains every worker, then the primary closes the auth service and stores.
 */

/** The environment variable that hands a worker its part (set by the primary; not a config key). */
const SPEC_ENV = 'GATEHOUSE_CLUSTER_WORKER';
/** A replacement that dies within this long of its start (or before it serves) counts as dying young. */
const YOUNG_MS = 30_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** What a worker needs of its primary. */
interface WorkerSpec {
  role: 'start' | 'gateway';
  /** The public port (fixed: every worker listens on it; node:cluster shares it). */
  port: number;
  publicUrl: string | null;
  issuer: string | null;
  /** `start`: the primary's auth service and demo services. */
  authUrl?: string;
  demo?: DemoUrls;
  /** How many workers share the connection caps. */
  workers: number;
}

/** gateway.workers as a number (`auto`: os.availableParallelism()). */
export function workerCount(config: GatehouseConfig): number {
  return config.gateway.workers === 'auto' ? availableParallelism() : Number(config.gateway.workers);
}

/** Whether this process is a worker of a `--workers N` primary. */
export function isClusterWorker(): boolean {
  return cluster.isWorker && process.env[SPEC_ENV] !== undefined;
}

export interface RunningCluster {
  url: string;
  localUrl: string;
  dataDir: string;
  /** The `stores:` start line (the primary's; in `gateway`, the first worker's). */
  storesLine: string;
  /** Internal URLs (auth, demo services), for the start line. */
  internal: Record<string, string>;
  /** Process ids of the workers serving now. */
  pids(): number[];
  /** Graceful stop: every worker drains and exits, then the primary closes its own parts. */
  close(): Promise<void>;
}

/** A free port on `host`, for a public port of 0: every worker must listen on the same one. */
function freePort(host: string): Promise<number> {
  return new Promise((resolveFree, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const addr = s.address();
      s.close(() => resolveFree(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

/**
 * Forks the workers and keeps them: each must say `ready`; one that dies is logged and replaced,
 * after a back-off while replacements die young.
 */
class Supervisor {
  private stopping = false;
  private readonly ready = new Set<Worker>();
  private readonly started = new Map<Worker, number>();
  private youngDeaths = 0;
  private firstReady: Extract<ClusterMessage, { type: 'gatehouse:ready' }> | undefined;
  private starting: { need: number; resolve: () => void; reject: (err: Error) => void } | undefined;
  private readonly exited = new Set<() => void>();
  private respawnTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly link: PrimaryLink,
    private readonly env: Record<string, string>,
    private readonly logger: Logger,
  ) {
    link.onOther = (w, m) => this.onMessage(w, m);
    cluster.on('exit', this.onExit);
  }

  /** Forks `n` workers and resolves once every one serves; rejects with the first one's reason for not starting. */
  async start(n: number): Promise<Extract<ClusterMessage, { type: 'gatehouse:ready' }>> {
    await new Promise<void>((resolveStart, reject) => {
      this.starting = { need: n, resolve: resolveStart, reject };
      for (let i = 0; i < n; i++) this.fork();
    });
    return this.firstReady!;
  }

  pids(): number[] {
    return [...this.ready].filter((w) => !w.isDead()).map((w) => w.process.pid!);
  }

  /** Every worker drains (a worker not serving yet is killed: it holds no request), then this resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.respawnTimer !== undefined) clearTimeout(this.respawnTimer);
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
    const gone = Promise.all(alive.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r())))));
    for (const w of alive) {
      if (this.ready.has(w) && w.isConnected()) w.send({ type: 'gatehouse:stop' } satisfies ClusterMessage);
      else w.process.kill('SIGKILL');
    }
    await gone;
    cluster.off('exit', this.onExit);
  }

  private fork(): void {
    const w = cluster.fork(this.env);
    this.started.set(w, performance.now());
  }

  private onMessage(w: Worker, m: ClusterMessage): void {
    if (m.type === 'gatehouse:ready') {
      this.ready.add(w);
      this.firstReady ??= m;
      if (this.starting !== undefined && this.ready.size >= this.starting.need) {
        const s = this.starting;
        this.starting = undefined;
        s.resolve();
      } else if (this.starting === undefined) {
        this.logger.warn({ event: 'worker.replaced', pid: w.process.pid }, 'a replacement gateway worker serves');
      }
    } else if (m.type === 'gatehouse:failed') {
      if (this.starting !== undefined) {
        const s = this.starting;
        this.starting = undefined;
        s.reject(new Error(m.message));
      } else {
        this.logger.error({ event: 'worker.failed', pid: w.process.pid, reason: m.message }, 'a replacement gateway worker could not start');
      }
    }
  }

  private readonly onExit = (w: Worker, code: number | null, signal: string | null): void => {
    const wasReady = this.ready.delete(w);
    const age = performance.now() - (this.started.get(w) ?? 0);
    this.started.delete(w);
    if (this.stopping) return;
    if (this.starting !== undefined) {
      const s = this.starting;
      this.starting = undefined;
      s.reject(new Error(`a gateway worker exited while starting (${signal !== null ? `signal ${signal}` : `code ${code}`})`));
      return;
    }
    const young = !wasReady || age < YOUNG_MS;
    this.youngDeaths = young ? this.youngDeaths + 1 : 0;
    const delay = this.youngDeaths === 0 ? 0 : Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.youngDeaths - 1));
    this.logger.error(
      { event: 'worker.exit', pid: w.process.pid, code, signal, restartInMs: delay },
      `a gateway worker exited (${signal !== null ? `signal ${signal}` : `code ${code}`}); starting another${delay > 0 ? ` in ${delay} ms` : ''}`,
    );
    const again = () => {
      this.respawnTimer = undefined;
      if (!this.stopping) this.fork();
    };
    if (delay === 0) again();
    else {
      // One replacement at a time while they die young; the others wait for it.
      this.respawnTimer = setTimeout(again, delay);
    }
  };
}

/**
 * The primary of `gatehouse start --workers N` (`role: 'start'`) or `gatehouse gateway --workers
 * N` (`role: 'gateway'`). Resolves once every worker serves.
 */
export async function startCluster(options: { config: GatehouseConfig; role: 'start' | 'gateway'; logger?: Logger }): Promise<RunningCluster> {
  const config = structuredClone(options.config);
  const logger = options.logger ?? createLogger(config.logLevel, undefined, config.log.format);
  const n = workerCount(config);
  const role = options.role;
  if (role === 'gateway' && config.authUrl === null) {
    throw new ConfigError('gatehouse gateway needs the auth service: set GATEHOUSE_AUTH_URL (e.g. http://10.0.1.5:9000, the URL "gatehouse auth" printed).');
  }
  config.dataDir = resolve(config.dataDir);
  if (role === 'gateway' || config.databaseUrl !== null) shareIssuer(config, logger);
  // Every worker listens on one port: a port of 0 is chosen here, once.
  if (config.port === 0) config.port = await freePort(config.host);
  const localUrl = `http://${urlHost(config.host)}:${config.port}`;
  if (role === 'start' && !config.publicUrl) config.publicUrl = localUrl;

  const cleanups = new Cleanups(logger);
  const link = new PrimaryLink();
  cleanups.push(() => link.close());
  link.add(processMetrics());
  try {
    const internal: Record<string, string> = {};
    let storesLine = '';
    const spec: WorkerSpec = { role, port: config.port, publicUrl: config.publicUrl, issuer: config.passport.issuer, workers: n };
    if (role === 'start') {
      const opened = await openDeps(config, { logger, feedRelay: link });
      cleanups.push(() => opened.close());
      const deps = opened.deps;
      storesLine = opened.storesLine;
      const auth = await listenAuthService(deps, { port: 0, host: '127.0.0.1' });
      cleanups.push(() => auth.close());
      const authMetrics = existingAuthMetrics(deps);
      if (authMetrics !== undefined) link.add(authMetrics.registry);
      internal.auth = spec.authUrl = auth.url;
      if (config.demo) Object.assign(internal, (spec.demo = await startDemoServices(deps, cleanups)));
      startBackground(deps, cleanups);
    } else {
      internal.auth = config.authUrl!;
    }
    const supervisor = new Supervisor(link, { [SPEC_ENV]: JSON.stringify(spec) }, logger);
    // Registered before the start completes: a failed start stops the workers already up.
    cleanups.push(() => supervisor.stop());
    const first = await supervisor.start(n);
    if (role === 'gateway') {
      storesLine = first.storesLine;
      Object.assign(internal, first.internal);
    }
    return {
      url: config.publicUrl ?? localUrl,
      localUrl,
      dataDir: config.dataDir,
      storesLine,
      internal,
      pids: () => supervisor.pids(),
      // The workers drain first (their requests to the auth service included), then the rest closes.
      close: cleanups.close,
    };
  } catch (err) {
    await cleanups.close();
    throw err;
  }
}

/**
 * A worker: the gateway role on the primary's port, its feed relayed and its metrics gathered
 * through the primary. Says `ready` once it serves, or `failed` with the reason and exits 1.
 * Drains and exits 0 when the primary says stop, or on SIGTERM; SIGINT (Ctrl+C reaches the whole
 * process group) is the primary's to handle.
 */
export async function runWorker(config: GatehouseConfig): Promise<never> {
  const spec = JSON.parse(process.env[SPEC_ENV]!) as WorkerSpec;
  const link = new WorkerLink();
  const c = structuredClone(config);
  c.port = spec.port;
  c.publicUrl = spec.publicUrl;
  c.passport.issuer = spec.issuer;
  if (spec.authUrl !== undefined) c.authUrl = spec.authUrl;
  // The connection caps bound the whole machine: each worker takes its share.
  const share = (limit: number) => (limit === 0 ? 0 : Math.ceil(limit / spec.workers));
  c.gateway.maxConnections = share(c.gateway.maxConnections);
  c.gateway.maxConnectionsPerAddress = share(c.gateway.maxConnectionsPerAddress);
  process.on('SIGINT', () => undefined);
  // Every line says which worker wrote it (they share the primary's stderr).
  const logger = createLogger(c.logLevel, undefined, c.log.format).child({ worker: process.pid });
  let running: Awaited<ReturnType<typeof runGateway>>;
  try {
    running = await runGateway({ config: c, logger, openDeps: { feedRelay: link, metricsHub: link }, ...(spec.demo !== undefined ? { demoUrls: spec.demo } : {}) });
  } catch (err) {
    const message: ClusterMessage = { type: 'gatehouse:failed', message: (err as Error).message ?? String(err) };
    if (process.connected) await new Promise<void>((sent) => process.send!(message, () => sent()));
    process.exit(1);
  }
  link.post({ type: 'gatehouse:ready', storesLine: running.storesLine, internal: running.internal });
  await new Promise<void>((resolveStop) => {
    link.stopped(resolveStop);
    process.once('SIGTERM', () => resolveStop());
  });
  await running.close();
  link.close();
  // The IPC channel would keep the process alive.
  process.exit(0);
}
