import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../config/defaults.js';
import { GatehouseError } from '../../errors/index.js';
import { checkNewPassword, normalizePassword } from './password.js';

function refusal(password: string, username = 'alice'): GatehouseError {
  try {
    checkNewPassword(password, username, DEFAULTS);
  } catch (err) {
    if (err instanceof GatehouseError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('password policy', () => {
  it('accepts a strong password without composition rules', () => {
    expect(() => checkNewPassword('vivid-otter-sings-42', 'alice', DEFAULTS)).not.toThrow();
    expect(() => checkNewPassword('correct horse battery staple', 'alice', DEFAULTS)).not.toThrow();
    // all lower-case letters, no digits or symbols: fine when hard to guess
    expect(() => checkNewPassword('glimmeringpotatofjord', 'alice', DEFAULTS)).not.toThrow();
  });

  it('needs at least 8 code points', () => {
    const err = refusal('Xq7!zP2');
    expect(err.code).toBe('weak_password');
    expect(err.detail).toMatch(/at least 8/);
    // 7 astral characters are 14 UTF-16 units but still too short.
    expect(refusal('🦊🐙🦄🐳🦉🐸🦋').detail).toMatch(/at least 8/);
  });

  it('accepts up to 4096 characters and refuses longer with invalid_password', () => {
    const long = Array.from({ length: 4096 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join('');
    expect(() => checkNewPassword(long, 'alice', DEFAULTS)).not.toThrow();
    const err = refusal(long + 'x');
    expect(err.code).toBe('invalid_password');
    expect(err.detail).toMatch(/at most 4096/);
  });

  it.each(['password', 'Password', 'PASSWORD1', 'qwertyuiop', 'iloveyou', '12345678', 'sunshine1'])(
    'refuses the common password %s, case-insensitively',
    (pw) => {
      const err = refusal(pw);
      expect(err.code).toBe('weak_password');
      expect(err.detail).toMatch(/commonly used/);
      // (the detail itself says "password", so check echoing with the others)
      if (!/^password/i.test(pw)) expect(err.detail).not.toContain(pw);
    },
  );

  it('refuses the username as password (canonical compare)', () => {
    expect(refusal('Margarethe-Zwölf', 'margarethe-zwölf').detail).toMatch(/must not be the username/);
    expect(refusal('ＭＡＲＧＡＲＥＴＨＥ-zwölf', 'Margarethe-Zwölf').detail).toMatch(/must not be the username/);
  });

  it('refuses what zxcvbn scores 0, saying why without echoing it', () => {
    for (const pw of ['aaaaaaaaaaaa', 'abcdefghij', 'zzzzzzzzzzzzzzzz']) {
      const err = refusal(pw);
      expect(err.code).toBe('weak_password');
      expect(err.detail).not.toContain(pw);
    }
    expect(refusal('aaaaaaaaaaaa').detail).toMatch(/repeats/);
  });

  it('refuses unpaired surrogates (not text, would hash ambiguously)', () => {
    expect(refusal('strong-but-\uD800-broken').code).toBe('invalid_password');
  });

  it('normalises with NFKC, so composed and decomposed input is one password', () => {
    expect(normalizePassword('cafe\u0301-ﬁve')).toBe(normalizePassword('café-five'));
  });
});
