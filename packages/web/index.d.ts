/** Absolute path of the folder holding the static web pages (with a trailing slash). */
export declare const publicDir: string;
