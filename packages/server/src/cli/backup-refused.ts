/** A refusal of `gatehouse backup` or `restore`: one line on stderr, exit code 1, nothing changed. */
export class BackupRefused extends Error {}
