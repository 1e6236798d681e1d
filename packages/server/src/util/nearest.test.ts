import { describe, expect, it } from 'vitest';
import { editDistance, nearest } from './nearest.js';

describe('nearest', () => {
  it('counts insertions, deletions, substitutions and swapped neighbours as one edit each', () => {
    expect(editDistance('port', 'port')).toBe(0);
    expect(editDistance('prot', 'port')).toBe(1);
    expect(editDistance('data-dr', 'data-dir')).toBe(1);
    expect(editDistance('hots', 'host')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests the closest candidate only when it is a likely typo', () => {
    const flags = ['help', 'version', 'port', 'host', 'data-dir', 'public-url', 'role', 'force'];
    expect(nearest('prot', flags)).toBe('port');
    expect(nearest('data-dr', flags)).toBe('data-dir');
    expect(nearest('publicurl', flags)).toBe('public-url');
    expect(nearest('Host', flags)).toBe('host');
    expect(nearest('verbose', flags)).toBeUndefined();
    expect(nearest('x', flags)).toBeUndefined();
    expect(nearest('slidingTTL', ['slidingTtlSec', 'touchIntervalSec'])).toBe('slidingTtlSec');
    expect(nearest('colour', ['demo', 'routes'])).toBeUndefined();
    expect(nearest('slidingTtl', ['slidingTtlSec', 'absoluteTtlSec'])).toBe('slidingTtlSec');
  });
});
