import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../errors/index.js';
import { canonicalUsername, validateUsername } from './username.js';

function refusal(input: string): GatehouseError {
  try {
    validateUsername(input);
  } catch (err) {
    if (err instanceof GatehouseError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('username policy', () => {
  it('canonical form: NFKC + case-folded, so width, case and compatibility variants collide', () => {
    expect(canonicalUsername('Alice')).toBe('alice');
    expect(canonicalUsername('ＡＬＩＣＥ')).toBe('alice'); // full-width
    expect(canonicalUsername('ﬁnn')).toBe('finn'); // ligature
    expect(canonicalUsername('Ｊｏｓé')).toBe(canonicalUsername('jose\u0301')); // composed vs decomposed
    expect(canonicalUsername('ΣΟΦΙΑ')).toBe(canonicalUsername('σοφια'));
  });

  it('keeps the NFC form of the input for display', () => {
    expect(validateUsername('Jose\u0301')).toEqual({ display: 'José', canonical: 'josé' });
    expect(validateUsername('Alice')).toEqual({ display: 'Alice', canonical: 'alice' });
  });

  it('accepts ordinary names in many scripts', () => {
    for (const name of ['alice', 'bob_smith', 'o.brien', 'Zoë', 'Владимир', '山田太郎', 'user-42', 'a@b.c']) {
      expect(() => validateUsername(name), name).not.toThrow();
    }
  });

  it.each([
    ['zero-width space', 'ali\u200Bce', /invisible formatting/],
    ['zero-width joiner', 'ali\u200Dce', /invisible formatting/],
    ['bidi override', 'ali\u202Ece', /bidirectional/],
    ['bidi isolate', '\u2066alice', /invisible formatting/],
    ['control character', 'ali\u0007ce', /control character \(U\+0007\)/],
    ['newline', 'alice\n', /control/],
    ['space', 'ali ce', /space or separator/],
    ['no-break space', 'ali\u00A0ce', /space or separator/],
    ['ideographic space', 'ali\u3000ce', /space or separator/],
    ['private use', 'ali\uE000ce', /private-use/],
    ['lone surrogate', 'ali\uD800ce', /surrogate/],
    ['unassigned', 'ali\u0378ce', /unassigned/],
    ['hangul filler', 'ali\u3164ce', /invisible/],
    ['expands to spaces under NFKC', 'ab\uFDFA', /space/],
  ])('refuses a %s with invalid_username and says what is wrong', (_label, input, detail) => {
    const err = refusal(input);
    expect(err.code).toBe('invalid_username');
    expect(err.status).toBe(400);
    expect(err.detail).toMatch(detail);
  });

  it('needs 3 to 64 characters, counted in code points', () => {
    expect(refusal('ab').detail).toMatch(/at least 3/);
    expect(refusal('').detail).toMatch(/at least 3/);
    expect(refusal('a'.repeat(65)).detail).toMatch(/at most 64/);
    expect(() => validateUsername('abc')).not.toThrow();
    expect(() => validateUsername('a'.repeat(64))).not.toThrow();
    // 3 astral characters are 6 UTF-16 units but 3 code points.
    expect(() => validateUsername('🦊🐙🦄')).not.toThrow();
    expect(() => validateUsername('😀'.repeat(64))).not.toThrow();
    expect(refusal('😀'.repeat(65)).detail).toMatch(/at most 64/);
  });
});
