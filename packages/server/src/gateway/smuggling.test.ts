/**
 * Request smuggling and malformed input over a raw TCP socket against a real gateway, with an
 * echo upstream that records every request it receives. Each ambiguous shape must be refused
 * (and the connection closed) or normalised, so the upstream never sees a second, smuggled
 * request (`GET /api/public/admin`).
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGatewayHarness, type GatewayHarness } from './test-helpers.js';

let h: GatewayHarness;
let port: number;

beforeAll(async () => {
  h = await createGatewayHarness({ routes: (upstream) => [{ path: '/api/public', upstream, service: 'public', auth: 'none' }] });
  port = Number(new URL(h.url).port);
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.upstream.received.length = 0;
});

interface RawResult {
  /** Everything the gateway sent back. */
  text: string;
  /** The gateway closed the connection (before the wait ran out). */
  closed: boolean;
}

/** Writes bytes as they are on a fresh connection; collects the answer until the gateway closes or `waitMs` pass. */
function raw(data: string, waitMs = 1500): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => finish(true));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? finish(true) : reject(err)));
    socket.write(data, 'latin1');
  });
}

const SMUGGLED = 'GET /api/public/admin HTTP/1.1\r\nHost: localhost\r\n\r\n';

function statuses(text: string): number[] {
  return [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));
}

/** Give a smuggled request every chance to arrive before asserting it did not. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 100));
}

function expectNothingSmuggled(maxLegit = 0): void {
  expect(h.upstream.received.filter((r) => r.url.includes('admin'))).toEqual([]);
  expect(h.upstream.received.length).toBeLessThanOrEqual(maxLegit);
}

describe('request smuggling shapes (raw socket)', () => {
  it.each([
    ['Content-Length with Transfer-Encoding: chunked (CL.TE)', `POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['Transfer-Encoding then Content-Length (TE.CL)', `POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 48\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['two different Content-Lengths', `POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 46\r\n\r\n{}${SMUGGLED}`],
    ['two equal Content-Lengths', `POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}${SMUGGLED}`],
    ['a Content-Length list', `POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2, 2\r\n\r\n{}${SMUGGLED}`],
    ['Transfer-Encoding: xchunked', `POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['Transfer-Encoding: chunked, identity', `POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['two Transfer-Encoding headers', `POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['an obs-folded Transfer-Encoding', `POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['whitespace before the colon', `POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['a request line with spaces in the target', `GET /api/public /api/public/admin HTTP/1.1\r\nHost: localhost\r\n\r\n`],
    ['a control character in the request line', `GET /api/public\x01/admin HTTP/1.1\r\nHost: localhost\r\n\r\n`],
    ['bare LF line endings', `GET /api/public HTTP/1.1\nHost: x\n\n${SMUGGLED}`],
    ['a NUL in a header value', `GET /api/public HTTP/1.1\r\nHost: localhost\r\nX-A: a\x00b\r\n\r\n${SMUGGLED}`],
  ])('%s: refused with 400 problem+json and the connection closed; nothing reaches the upstream', async (_name, request) => {
    const r = await raw(request);
    await settle();
    expect(statuses(r.text)).toEqual([400]);
    expect(r.text).toMatch(/\r\ncontent-type: application\/problem\+json\r\n/i);
    expect(r.text).toMatch(/\r\nx-content-type-options: nosniff\r\n/i);
    expect(r.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(r.text).toContain('"code":"invalid_request"');
    expect(r.closed).toBe(true);
    expectNothingSmuggled(0);
  });

  it('a bad chunk size: 400, connection closed, the upstream never gets a complete or a smuggled request', async () => {
    const r = await raw(`POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\nzz\r\nabc\r\n0\r\n\r\n${SMUGGLED}`);
    await settle();
    expect(statuses(r.text)[0]).toBe(400);
    expect(r.closed).toBe(true);
    expectNothingSmuggled(0);
  });

  it('headers over the size limit: 431 problem+json and the connection closed', async () => {
    const r = await raw(`GET /api/public HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n${SMUGGLED}`);
    await settle();
    expect(statuses(r.text)).toEqual([431]);
    expect(r.text).toContain('"code":"headers_too_large"');
    expect(r.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(r.closed).toBe(true);
    expectNothingSmuggled(0);
  });

  it.each(['GET', 'HEAD'])('%s with a body that looks like a request: 400, connection closed, nothing forwarded', async (method) => {
    const r = await raw(`${method} /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`);
    await settle();
    expect(statuses(r.text)).toEqual([400]);
    if (method === 'GET') expect(r.text).toContain('must not have a body');
    expect(r.closed).toBe(true);
    expectNothingSmuggled(0);
  });

  it('a chunked GET is refused too', async () => {
    const r = await raw(`GET /api/public HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`);
    await settle();
    expect(statuses(r.text)).toEqual([400]);
    expectNothingSmuggled(0);
  });

  it('Transfer-Encoding: identity, chunked is normalised: one request, the exact body, no client framing headers', async () => {
    const r = await raw(`POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: identity, chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n`);
    await settle();
    expect(statuses(r.text)).toEqual([200]);
    expect(h.upstream.received).toHaveLength(1);
    const rec = h.upstream.received[0]!;
    expect(rec.body).toBe('{}');
    // The upstream hop is framed by the gateway's HTTP client, never by the client's header.
    expect(rec.rawHeaders.join('\n').toLowerCase()).not.toContain('identity');
    expect(rec.headers['transfer-encoding'] === undefined || rec.headers['content-length'] === undefined).toBe(true);
    expectNothingSmuggled(1);
  });

  it('control: pipelined legitimate requests on one keep-alive connection are each forwarded once', async () => {
    const body = '{"a":1}';
    const r = await raw(
      `POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` + `GET /api/public/next HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
    );
    await settle();
    expect(statuses(r.text)).toEqual([200, 200]);
    // Each once, with its own body; the order the upstream sees them in is not fixed (the POST's
    // small body is read whole before its call; the two may travel on two pooled connections).
    const seen = h.upstream.received.map((x) => [x.method, x.url, x.body]).sort((a, b) => String(a[1]).localeCompare(String(b[1])));
    expect(seen).toEqual([
      ['POST', '/api/public', body],
      ['GET', '/api/public/next', ''],
    ]);
    expect(h.upstream.received.find((x) => x.method === 'POST')!.headers['content-length']).toBe(String(body.length));
  });
});
