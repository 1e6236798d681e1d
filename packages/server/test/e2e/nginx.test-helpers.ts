import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from './harness.js';

// Debian's nginx in front of Gatehouse, from the shipped deploy/nginx/gatehouse.conf
// (docs/deployment.md). .ci/run installs nginx, so on CI these tests never skip.

const TEMPLATE = fileURLToPath(new URL('../../../../deploy/nginx/gatehouse.conf', import.meta.url));
export const HOST = 'auth.example.com';

/** Debian puts it in /usr/sbin, which a non-root PATH may lack. */
export const NGINX = ['nginx', '/usr/sbin/nginx'].find((c) => spawnSync(c, ['-v'], { encoding: 'utf8' }).status === 0);
if (NGINX === undefined && process.env.CI === 'true') throw new Error('nginx is not installed: .ci/run installs it (apt-get install nginx)');

/**
 * The shipped template with only its ports and file paths replaced, its IPv6 `listen` lines
 * dropped, and one `server` line per gateway in the upstream block.
 */
export function nginxConfigFromTemplate(p: { http: number; https: number; gateways: number[]; cert: string; key: string }): string {
  const out = readFileSync(TEMPLATE, 'utf8')
    .replace(/^\s*listen \[::\]:\d+.*\n/gm, '')
    .replace(/listen 80;/, `listen 127.0.0.1:${p.http};`)
    .replace(/listen 443 ssl http2;/, `listen 127.0.0.1:${p.https} ssl http2;`)
    .replace(/server 127\.0\.0\.1:8080;/, p.gateways.map((g) => `server 127.0.0.1:${g};`).join('\n    '))
    .replace(/ssl_certificate \s*\S+;/, `ssl_certificate ${p.cert};`)
    .replace(/ssl_certificate_key \S+;/, `ssl_certificate_key ${p.key};`);
  for (const gone of ['listen 80;', 'listen 443', ':8080;', '/etc/letsencrypt']) if (out.includes(gone)) throw new Error(`template changed: ${gone} left`);
  return out;
}

/** A self-signed certificate for HOST (`openssl req -x509`), in `dir`. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST}`, '-keyout', key, '-out', cert],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
  return { cert, key };
}

export interface RunningNginx {
  log(): string;
  stop(): Promise<void>;
}

/** Runs nginx in the foreground with the generated site, in `dir/nginx`, until stop(). */
export async function startNginx(dir: string, site: string, httpsPort: number): Promise<RunningNginx> {
  const prefix = join(dir, 'nginx');
  mkdirSync(prefix);
  chmodSync(dir, 0o755); // nginx workers run as nobody when the tests run as root
  writeFileSync(join(prefix, 'gatehouse.conf'), site);
  // What /etc/nginx/nginx.conf gives the site on a real host, in a directory of our own.
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(prefix, t)};`).join('\n');
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `daemon off;\nworker_processes 1;\npid ${join(prefix, 'nginx.pid')};\nerror_log stderr warn;\nevents { worker_connections 256; }\nhttp {\n  access_log off;\n${temp}\n  include ${join(prefix, 'gatehouse.conf')};\n}\n`,
  );
  const proc = spawn(NGINX!, ['-p', prefix, '-e', 'stderr', '-c', join(prefix, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise((r) => proc.once('exit', r));
  await until(`nginx on ${httpsPort} (log: ${log})`, () => proc.exitCode === null && spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${httpsPort}`]).status === 0, 10_000);
  return {
    log: () => log,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGQUIT');
      await exited;
    },
  };
}

/** `auth.example.com` is this machine, as DNS would say on a real host (for undici's and node's connect). */
export const lookupHostHere = ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) =>
  opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as never;
