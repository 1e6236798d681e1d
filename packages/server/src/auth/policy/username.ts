import { GatehouseError } from '../../errors/index.js';
import { canonicalUsername } from '../../util/canonical-username.js';

export { canonicalUsername };

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 64;

/** Characters that make a name look like another or hide part of it; each with what to say. */
const REFUSED: Array<{ re: RegExp; what: string }> = [
  { re: /\p{Cc}/u, what: 'a control character' },
  { re: /\p{Cs}/u, what: 'an unpaired surrogate' },
  { re: /\p{Co}/u, what: 'a private-use character' },
  { re: /\p{Cn}/u, what: 'an unassigned code point' },
  { re: /\p{Cf}/u, what: 'an invisible formatting character (such as zero-width or bidirectional controls)' },
  { re: /[\p{Z}\s]/u, what: 'a space or separator' },
  // Invisible but not Cf (e.g. U+3164 HANGUL FILLER, U+034F, variation selectors).
  { re: /\p{Default_Ignorable_Code_Point}/u, what: 'an invisible character' },
];

function codePointLabel(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

function refusedCharacter(s: string): string | null {
  for (const { re, what } of REFUSED) {
    const m = re.exec(s);
    if (m) return `${what} (${codePointLabel(m[0])})`;
  }
  return null;
}

export interface ValidUsername {
  /** NFC of the input, for display. */
  display: string;
  /** Unique form (see canonicalUsername). */
  canonical: string;
}

/** Checks a username for sign-up; throws `invalid_username` with a detail saying what is wrong. */
export function validateUsername(input: string): ValidUsername {
  const display = input.normalize('NFC');
  const canonical = canonicalUsername(input);
  // Check the input and its canonical form: NFKC can turn a harmless compatibility
  // character into spaces (e.g. U+FDFA) or other refused characters.
  for (const form of [display, canonical]) {
    const bad = refusedCharacter(form);
    if (bad) throw new GatehouseError('invalid_username', { detail: `The username contains ${bad}.` });
  }
  for (const form of [display, canonical]) {
    const length = [...form].length;
    if (length < USERNAME_MIN) {
      throw new GatehouseError('invalid_username', { detail: `The username must be at least ${USERNAME_MIN} characters long.` });
    }
    if (length > USERNAME_MAX) {
      throw new GatehouseError('invalid_username', { detail: `The username must be at most ${USERNAME_MAX} characters long.` });
    }
  }
  return { display, canonical };
}
