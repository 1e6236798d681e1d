// Helper processes for the benchmarks: `node bench/servers.mjs upstream` prints its URL;
// `node bench/servers.mjs bare-proxy <upstream-url>` is the floor: node:http + undici Pool,
// no authentication, same hop-by-hop handling a careful proxy needs.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [, , role, target] = process.argv;
// Exit (rather than die) on SIGTERM, so `node --cpu-prof` writes its profile (bench/profile.mjs).
process.once('SIGTERM', () => process.exit(0));
const BODY = JSON.stringify({ ok: true, service: 'bench' });

if (role === 'upstream') {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) });
      res.end(BODY);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => console.log(`URL http://127.0.0.1:${server.address().port}`));
} else if (role === 'bare-proxy') {
  const pool = new Pool(target, { connections: 64, pipelining: 1 });
  const HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
  const server = createServer(async (req, res) => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
    try {
      const up = await pool.request({ method: req.method, path: req.url, headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req });
      const out = {};
      for (const [k, v] of Object.entries(up.headers)) if (!HOP.has(k)) out[k] = v;
      res.writeHead(up.statusCode, out);
      for await (const chunk of up.body) res.write(chunk);
      res.end();
    } catch {
      res.writeHead(502).end();
    }
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => console.log(`URL http://127.0.0.1:${server.address().port}`));
} else {
  console.error('usage: servers.mjs upstream | bare-proxy <url>');
  process.exit(2);
}
