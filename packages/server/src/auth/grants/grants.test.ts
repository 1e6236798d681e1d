import { describe, expect, it } from 'vitest';
import { TOKEN_GRANT_TYPES } from '../../credentials/token-endpoint-metadata.js';
import { tokenParams } from '../endpoints/token.js';
import { GRANTS } from './registry.js';

describe('the grant registry', () => {
  it('holds each grant type once, exactly the ones discovery lists', () => {
    const types = GRANTS.map((g) => g.type);
    expect(new Set(types).size).toBe(types.length);
    expect([...types].sort()).toEqual([...TOKEN_GRANT_TYPES].sort());
  });

  it('the endpoint reads every parameter some grant takes, and no other', () => {
    const names = new Set(['grant_type', ...GRANTS.flatMap((g) => Object.keys(g.params))]);
    expect(new Set(Object.keys(tokenParams))).toEqual(names);
  });
});
