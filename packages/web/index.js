import { fileURLToPath } from 'node:url';
/** Absolute path of the folder holding the static web pages. */
export const publicDir = fileURLToPath(new URL('./public/', import.meta.url));
