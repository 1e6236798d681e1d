/** Absolute path of the folder holding the static web pages (with a trailing slash). */
export declare const publicDir: string;
/** Files the pages load from npm packages: URL path (under /assets/js/vendor/) → absolute file in node_modules. */
export declare const vendorFiles: Readonly<Record<string, string>>;
