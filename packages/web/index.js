import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the folder holding the static web pages. */
export const publicDir = fileURLToPath(new URL('./public/', import.meta.url));

const require = createRequire(import.meta.url);
/** The root folder of an installed package (its "require" entry is `<root>/script/index.js` for @simplewebauthn/browser). */
const packageRoot = (name, depth) => {
  let dir = require.resolve(name);
  for (let i = 0; i < depth; i++) dir = dirname(dir);
  return dir;
};

/**
 * Files the pages load that come from npm packages, served by the gateway at a fixed path
 * (no CDN, no copy in public/): URL path → absolute file. The page modules load
 * `assets/js/vendor/simplewebauthn-browser.js` (the UMD bundle, which as a module sets
 * `globalThis.SimpleWebAuthnBrowser`) through assets/js/webauthn.js.
 */
export const vendorFiles = Object.freeze({
  '/assets/js/vendor/simplewebauthn-browser.js': join(packageRoot('@simplewebauthn/browser', 2), 'dist', 'bundle', 'index.umd.min.js'),
});
