import { describe, expect, it } from 'vitest';
import { hashSecret } from '../../../crypto/secrets.js';
import { hashOnConnection } from './connection-hash.js';

describe('hashOnConnection', () => {
  const counting = () => {
    const calls: string[] = [];
    return { calls, hash: (s: string) => (calls.push(s), hashSecret(s)) };
  };

  it('hashes a secret once per connection while it repeats, and again as soon as it changes', () => {
    const { calls, hash } = counting();
    const conn = {};
    const a = 'a'.repeat(43);
    const b = `${'a'.repeat(42)}b`;
    const c = `b${'a'.repeat(42)}`;
    expect(hashOnConnection(conn, a, hash)).toBe(hashSecret(a));
    expect(hashOnConnection(conn, `${'a'.repeat(20)}${'a'.repeat(23)}`, hash)).toBe(hashSecret(a));
    expect(calls).toHaveLength(1);
    // Same length, differing only in the last or the first character: never the previous hash.
    expect(hashOnConnection(conn, b, hash)).toBe(hashSecret(b));
    expect(hashOnConnection(conn, c, hash)).toBe(hashSecret(c));
    expect(hashOnConnection(conn, a, hash)).toBe(hashSecret(a));
    expect(hashOnConnection(conn, a.slice(1), hash)).toBe(hashSecret(a.slice(1)));
    expect(calls).toHaveLength(5);
  });

  it('connections do not share what they remember; without a connection every call hashes', () => {
    const { calls, hash } = counting();
    const one = {};
    const two = {};
    expect(hashOnConnection(one, 'x1', hash)).toBe(hashSecret('x1'));
    expect(hashOnConnection(two, 'x2', hash)).toBe(hashSecret('x2'));
    expect(hashOnConnection(one, 'x1', hash)).toBe(hashSecret('x1'));
    expect(hashOnConnection(two, 'x1', hash)).toBe(hashSecret('x1'));
    expect(calls).toEqual(['x1', 'x2', 'x1']);
    expect(hashOnConnection(undefined, 'x1', hash)).toBe(hashSecret('x1'));
    expect(hashOnConnection(null, 'x1', hash)).toBe(hashSecret('x1'));
    expect(calls).toHaveLength(5);
  });
});
