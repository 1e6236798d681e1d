import unhomoglyph from 'unhomoglyph';
import { canonicalUsername } from './canonical-username.js';

/** A combining dot above on a letter that has its dot already (i, j): invisible in most fonts. */
const DOT_ON_DOTTED = /([ij]\p{Mn}*?)\u0307/gu;

/**
 * The look-alike key of a username, from the name as typed (shown): its UTS #39 skeleton (NFD,
 * every character mapped by Unicode's confusables.txt "prototype" table, NFD again; the mapping
 * is the `unhomoglyph` package's copy of confusables.txt) of the canonical form, lower-cased,
 * because usernames are case-insensitive and the table maps "0" to "O" and "1" to "l". Two
 * names with the same skeleton look the same or nearly: Cyrillic "аdmin" and Latin "admin",
 * "g00gle" and "google", "rn" and "m".
 *
 * Two things the canonical form alone loses, because a name is shown as typed: a capital "I" is
 * read as the "l" it looks like ("aIice" is "alice" on screen, though its canonical form is
 * "aiice"; a name typed without one keeps its "i"), and a dot above an "i" or "j" (which has
 * one) is dropped ("admi\u0307n" shows as "admin"). Not for display. Stored with each user
 * (`users.username_skeleton`, migrations 0004 and 0005): if this function changes (a new
 * confusables table), add a migration that recomputes the column.
 */
export function usernameSkeleton(name: string): string {
  const canonical = canonicalUsername(name.normalize('NFKC').replace(/I/g, 'l'));
  return unhomoglyph(canonical.normalize('NFD')).normalize('NFD').toLowerCase().normalize('NFD').replace(DOT_ON_DOTTED, '$1');
}
