import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary } from '@zxcvbn-ts/language-common';
import type { GatehouseConfig } from '../../config/types.js';
import { GatehouseError } from '../../errors/index.js';
import { canonicalUsername } from './username.js';

/**
 * Passwords are NFKC-normalised before hashing and verifying (NIST SP 800-63B 5.1.1.2), so the
 * same password typed on two keyboards or input methods matches. Nothing is ever truncated.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

let commonPasswords: Set<string> | undefined;
let estimator: ZxcvbnFactory | undefined;

/** The shipped list of common passwords (@zxcvbn-ts/language-common), lower-cased; built once. */
function commonList(): Set<string> {
  commonPasswords ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return commonPasswords;
}

function zxcvbn(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs });
  return estimator;
}

/** Human reasons for zxcvbn's warning keys (its default translations are bare keys). */
const WARNINGS: Record<string, string> = {
  straightRow: 'it is a row of keys on the keyboard',
  keyPattern: 'it is a short keyboard pattern',
  simpleRepeat: 'it repeats characters',
  extendedRepeat: 'it repeats a pattern',
  sequences: 'it is a simple sequence',
  recentYears: 'it is built on a recent year',
  dates: 'it is built on a date',
  topTen: 'it is among the most used passwords',
  topHundred: 'it is among the most used passwords',
  common: 'it is a commonly used password',
  similarToCommon: 'it is similar to a commonly used password',
  wordByItself: 'it is a single word',
  namesByThemselves: 'it is a single name',
  commonNames: 'it is a common name',
  userInputs: 'it is built on the username',
  pwned: 'it has appeared in a data breach',
};

/** Loads the list and the estimator now, so the first sign-up does not pay for it. */
export function warmPasswordPolicy(): void {
  commonList();
  zxcvbn();
}

/**
 * Checks a new password: length in code points (min `minLength`, max `maxLength`), not a
 * common password, not the username, not scored 0 by zxcvbn. No composition rules. Throws
 * `weak_password` / `invalid_password` with a reason that never echoes the password.
 */
export function checkNewPassword(password: string, username: string, config: Pick<GatehouseConfig, 'password'>): void {
  const { minLength, maxLength } = config.password;
  if (/\p{Cs}/u.test(password)) {
    throw new GatehouseError('invalid_password', { detail: 'The password contains an unpaired surrogate, which is not valid text.' });
  }
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length > maxLength) {
    throw new GatehouseError('invalid_password', { detail: `The password must be at most ${maxLength} characters long.` });
  }
  if (length < minLength) {
    throw new GatehouseError('weak_password', { detail: `The password must be at least ${minLength} characters long.` });
  }
  if (commonList().has(normalized.toLowerCase())) {
    throw new GatehouseError('weak_password', { detail: 'The password is on the list of commonly used passwords.' });
  }
  const canonicalName = canonicalUsername(username);
  if (canonicalUsername(normalized) === canonicalName) {
    throw new GatehouseError('weak_password', { detail: 'The password must not be the username.' });
  }
  const result = zxcvbn().check(normalized, [canonicalName]);
  if (result.score === 0) {
    const why = result.feedback.warning ? WARNINGS[result.feedback.warning] : undefined;
    throw new GatehouseError('weak_password', {
      detail: `The password is too easy to guess${why ? ` (${why})` : ''}; a few unusual words make a strong one.`,
    });
  }
}
