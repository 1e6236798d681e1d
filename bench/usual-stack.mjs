#!/usr/bin/env node
// Helper of bench/compare.mjs (not a benchmark itself): "the usual Node stack" for edge
// authentication, as many Node services build it today. Express 5 + express-session with
// connect-redis (redis v5 client) + a JWT of the user minted per request with jsonwebtoken
// (HS256) + http-proxy-middleware to the upstream, on a keep-alive agent. 127.0.0.1 only.
//   node bench/usual-stack.mjs <upstream-url> <redis-url> <key-prefix> [string|keyobject]
// Prints `URL http://127.0.0.1:<port>`. POST /login {"username"} starts a session (no password
// check: the comparison is about steady-state authenticated traffic); /api/* needs a session.
import express from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import jwt from 'jsonwebtoken';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { createSecretKey, randomBytes } from 'node:crypto';
import { Agent } from 'node:http';

const [, , upstream, redisUrl, prefix, secretKind = 'string'] = process.argv;
if (!upstream || !redisUrl || !prefix) {
  console.error('usage: usual-stack.mjs <upstream-url> <redis-url> <key-prefix> [string|keyobject]');
  process.exit(2);
}

const client = createClient({ url: redisUrl });
client.on('error', (err) => console.error(`usual-stack redis: ${err.message}`));
await client.connect();

// The HS256 secret as jsonwebtoken's README shows it (a string), or, with `keyobject`, as a
// KeyObject made once: a string or Buffer makes jsonwebtoken 9 try createPrivateKey first and
// fail (an exception) on every sign, which is most of this stack's CPU.
const secret = secretKind === 'keyobject' ? createSecretKey(randomBytes(32)) : randomBytes(32).toString('base64url');
const app = express();
app.disable('x-powered-by');
app.use(
  session({
    store: new RedisStore({ client, prefix }),
    name: 'sid',
    secret: randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: 30 * 24 * 3600 * 1000 },
  }),
);

app.post('/login', express.json(), (req, res, next) => {
  const username = String(req.body?.username ?? '');
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = { id: `u-${username}`, username, roles: ['user'] };
    req.session.save((e) => (e ? next(e) : res.json({ ok: true })));
  });
});

// Authenticate, then mint the user's JWT for the upstream, per request.
app.use('/api', (req, res, next) => {
  const user = req.session.user;
  if (!user) {
    res.status(401).json({ error: 'unauthenticated' });
    return;
  }
  // Overwrites any client-sent x-passport; http-proxy copies req.headers to the upstream call
  // (setting it in a proxyReq listener races socket reuse: ERR_HTTP_HEADERS_SENT under load).
  req.headers['x-passport'] = jwt.sign({ sub: user.id, username: user.username, roles: user.roles, sid: req.sessionID }, secret, {
    algorithm: 'HS256',
    expiresIn: 60,
    audience: 'bench',
    issuer: 'usual-stack',
  });
  next();
});

app.use(
  createProxyMiddleware({
    target: upstream,
    pathFilter: '/api',
    agent: new Agent({ keepAlive: true, maxSockets: 64 }),
  }),
);

const server = app.listen(0, '127.0.0.1', () => console.log(`URL http://127.0.0.1:${server.address().port}`));
server.keepAliveTimeout = 65_000;
const stop = () => {
  server.close();
  server.closeAllConnections?.();
  client.quit().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
