/**
 * The form usernames are unique on: NFKC, then lower-cased, then NFKC again (lower-casing can
 * leave a string that is no longer NFKC-normal). "Ａｌｉｃｅ", "ALICE" and "alice" are one name.
 */
export function canonicalUsername(input: string): string {
  return input.normalize('NFKC').toLowerCase().normalize('NFKC');
}
