// Slow and greedy clients against `gatehouse start` with its default settings (issue 11 item 8):
// how long a client that dribbles one header line a second holds a connection, how long one
// that sends nothing does, and how many of N connections from one address (127.0.0.1) stay
// open. Every build runs at once, each in its own process.
//
//   node bench/slow-client.mjs [--connections 300] [--limit 120] [--baseline-cli <other build>/packages/server/dist/cli/main.js]
//
// Bounded: at most --limit seconds (a hold longer than that prints ">limit"); 127.0.0.1 only.
import { createConnection } from 'node:net';
import { parseArgs } from 'node:util';
import { CLI, cleanup, sleep, startChild, tempDir } from './cluster.mjs';

const { values } = parseArgs({ options: { connections: { type: 'string', default: '300' }, limit: { type: 'string', default: '120' }, 'baseline-cli': { type: 'string' } } });
const N = Math.min(1000, Number(values.connections));
const LIMIT_MS = Math.min(300, Number(values.limit)) * 1000;
const builds = [{ name: 'this build', cli: CLI }];
if (values['baseline-cli']) builds.push({ name: 'baseline', cli: values['baseline-cli'] });

function open(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = createConnection({ host: hostname, port: Number(port) });
    const t0 = performance.now();
    const closed = new Promise((r) => s.once('close', () => r(performance.now() - t0)));
    s.on('error', () => undefined);
    s.resume(); // read (and drop) what comes, so the server's FIN is seen
    s.once('connect', () => resolve({ s, closed }));
    s.once('error', () => resolve({ s, closed }));
  });
}

const held = (c) => Promise.race([c.closed, sleep(LIMIT_MS).then(() => Infinity)]);
const fmt = (ms) => (ms === Infinity ? `>${LIMIT_MS / 1000} s` : `${(ms / 1000).toFixed(1)} s`);

async function measure(build) {
  const gh = await startChild([build.cli, 'start', '--port', '0'], { GATEHOUSE_DATA_DIR: tempDir(), GATEHOUSE_LOG_LEVEL: 'error' }, /is up at (http:\/\/\S+)/);
  try {
    // N connections from one address, all kept open: how many are still open after 1 s?
    const many = await Promise.all(Array.from({ length: N }, () => open(gh.url)));
    let closedMany = 0;
    for (const c of many) void c.closed.then(() => closedMany++);
    await sleep(1000);
    const openMany = N - closedMany;
    for (const c of many) c.s.destroy();
    await sleep(200);

    const dribbler = await open(gh.url);
    dribbler.s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => !dribbler.s.destroyed && dribbler.s.write('X-Slow: 1\r\n'), 1000);
    const silent = await open(gh.url);
    const [dribble, quiet] = await Promise.all([held(dribbler), held(silent)]);
    clearInterval(timer);
    dribbler.s.destroy();
    silent.s.destroy();
    return `${build.name}: a header line a second held ${fmt(dribble)}; a silent connection held ${fmt(quiet)}; ${openMany} of ${N} connections from one address open after 1 s`;
  } finally {
    await gh.stop('SIGTERM');
  }
}

try {
  for (const line of await Promise.all(builds.map(measure))) console.log(line);
} finally {
  await cleanup();
}
