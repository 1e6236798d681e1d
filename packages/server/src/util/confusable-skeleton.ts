import unhomoglyph from 'unhomoglyph';

/**
 * The look-alike key of a canonical username: its UTS #39 skeleton (NFD, every character
 * mapped by Unicode's confusables.txt "prototype" table, NFD again; the mapping is the
 * `unhomoglyph` package's copy of confusables.txt), lower-cased, because usernames are
 * case-insensitive and the table maps "0" to "O" and "1" to "l". Two names with the same
 * skeleton look the same or nearly: Cyrillic "аdmin" and Latin "admin", "g00gle" and
 * "google", "rn" and "m". Not for display. Stored with each user (`users.username_skeleton`,
 * migration 0004): if this function changes (a new confusables table), add a migration that
 * recomputes the column.
 */
export function usernameSkeleton(canonical: string): string {
  return unhomoglyph(canonical.normalize('NFD')).normalize('NFD').toLowerCase().normalize('NFD');
}
