// `@gatehouse/web` is plain JavaScript without type declarations; this is the one export the gateway uses.
declare module '@gatehouse/web' {
  /** Absolute path of the folder holding the static web pages. */
  export const publicDir: string;
}
