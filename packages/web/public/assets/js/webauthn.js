// @ts-check
/**
 * Passkeys in the browser: the WebAuthn ceremonies through @simplewebauthn/browser 13, loaded
 * on first use. The gateway serves the library's bundle from node_modules at
 * /assets/js/vendor/simplewebauthn-browser.js (@gatehouse/web's `vendorFiles`; no CDN, no copy
 * here); imported as a module, that UMD bundle sets `globalThis.SimpleWebAuthnBrowser`. Its
 * types are the package's own (`import('@simplewebauthn/browser')`, checked by tsconfig.json).
 */

/** @typedef {typeof import('@simplewebauthn/browser')} WebAuthnLibrary */

// Built from a URL rather than written as `import('./vendor/…')`: the file is not in this
// folder (the gateway serves it from node_modules), so the type check could not resolve it.
const LIBRARY_URL = new URL('./vendor/simplewebauthn-browser.js', import.meta.url).href;

/** @type {Promise<WebAuthnLibrary> | null} */
let loading = null;

/**
 * Whether this browser has WebAuthn at all (an old browser, or plain http from a host name
 * other than localhost: no passkeys).
 * @returns {boolean}
 */
export function passkeysSupported() {
  return typeof window.PublicKeyCredential === 'function' && window.isSecureContext !== false;
}

/**
 * The library, loaded once (a failed load is tried again next time).
 * @returns {Promise<WebAuthnLibrary>}
 */
export function webAuthn() {
  if (!loading) {
    loading = import(LIBRARY_URL).then(function () {
      const lib = /** @type {{ SimpleWebAuthnBrowser?: WebAuthnLibrary }} */ (/** @type {unknown} */ (globalThis)).SimpleWebAuthnBrowser;
      if (!lib || typeof lib.startRegistration !== 'function') throw new Error('The passkey library did not load.');
      return lib;
    });
    loading.catch(function () {
      loading = null;
    });
  }
  return loading;
}

/**
 * A sentence for a ceremony that failed in the browser (cancelled, timed out, refused).
 * @param {unknown} err
 * @returns {string}
 */
export function passkeyErrorMessage(err) {
  const e = /** @type {{ name?: unknown, code?: unknown, message?: unknown }} */ (err && typeof err === 'object' ? err : {});
  if (e.code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED' || e.name === 'InvalidStateError') {
    return 'This device already holds a passkey for your account.';
  }
  if (e.code === 'ERROR_CEREMONY_ABORTED' || e.name === 'NotAllowedError' || e.name === 'AbortError') {
    return 'No passkey was used: the request was cancelled or timed out. Try again.';
  }
  if (e.name === 'SecurityError' || e.code === 'ERROR_INVALID_DOMAIN' || e.code === 'ERROR_INVALID_RP_ID') {
    return 'Your browser does not allow passkeys at this address.';
  }
  if (e.message === 'The passkey library did not load.' || e.name === 'TypeError') {
    return 'Passkeys could not be loaded. Check your connection and try again.';
  }
  return 'Your browser could not use a passkey.' + (typeof e.message === 'string' && e.message ? ' ' + e.message : '');
}
