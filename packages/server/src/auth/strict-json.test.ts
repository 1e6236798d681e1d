import { describe, expect, it } from 'vitest';
import { findDuplicateKey } from './strict-json.js';

describe('findDuplicateKey', () => {
  it.each([
    ['{"a":1,"a":2}', 'a'],
    ['{"username":"x","password":"p","username":"admin"}', 'username'],
    ['{"a":1,"\\u0061":2}', 'a'],
    ['{"o":{"k":1,"k":2}}', 'k'],
    ['[{"k":1},{"x":{"y":[1,{"z":1,"z":2}]}}]', 'z'],
  ])('finds the repeated key in %s', (text, key) => {
    expect(findDuplicateKey(text)).toBe(key);
  });

  it.each([
    '{"a":1,"b":2}',
    '{"a":{"a":1},"b":{"a":2}}',
    '[{"k":1},{"k":2}]',
    '{"a":"\\"a\\":","b":"a,a"}',
    '{"s":"{\\"k\\":1,\\"k\\":2}"}',
    '"just a string"',
    '{}',
  ])('accepts %s', (text) => {
    expect(findDuplicateKey(text)).toBeNull();
  });
});
