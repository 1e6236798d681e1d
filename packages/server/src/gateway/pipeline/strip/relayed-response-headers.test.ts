import { describe, expect, it } from 'vitest';
import { relayedResponseHeaders } from './strip.js';

describe('relayedResponseHeaders', () => {
  it('drops hop-by-hop headers, headers the upstream named in Connection, and CORS headers; keeps the rest', () => {
    const upstream = {
      'content-type': 'application/json',
      connection: 'keep-alive, X-Secret-Hop',
      'keep-alive': 'timeout=5',
      'x-secret-hop': '1',
      'transfer-encoding': 'chunked',
      'access-control-allow-origin': '*',
      'access-control-allow-credentials': 'true',
      'set-cookie': ['a=1', 'b=2'],
      'x-kept': 'yes',
      'x-undefined': undefined,
    };
    expect(relayedResponseHeaders(upstream)).toEqual(['content-type', 'application/json', 'set-cookie', ['a=1', 'b=2'], 'x-kept', 'yes']);
  });

  it('a Connection that names a header the gateway owns removes nothing extra and nothing else', () => {
    expect(relayedResponseHeaders({ connection: 'close', 'x-a': '1' })).toEqual(['x-a', '1']);
    expect(relayedResponseHeaders({ connection: ' , ', 'x-a': '1' })).toEqual(['x-a', '1']);
  });

  it('copies rather than deletes: the upstream object is left as undici gave it', () => {
    const upstream = { connection: 'keep-alive', 'keep-alive': 'timeout=5', 'x-a': '1' };
    relayedResponseHeaders(upstream);
    expect(upstream).toEqual({ connection: 'keep-alive', 'keep-alive': 'timeout=5', 'x-a': '1' });
  });
});
