/**
 * What POST /auth/token accepts, in one place: the token endpoint (auth/endpoints/token.ts,
 * auth/client-auth.ts) dispatches on these, and discovery (gateway/local-endpoints.ts:
 * `/.well-known/openid-configuration`, RFC 8414 `/.well-known/oauth-authorization-server`)
 * lists them, so the two cannot drift apart (token-endpoint-metadata.test.ts checks each entry
 * against the endpoint).
 */

/** `grant_types_supported`. */
export const TOKEN_GRANT_TYPES = ['password', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:token-exchange', 'urn:gatehouse:params:oauth:grant-type:mfa-otp'] as const;

/** The device authorization endpoint (RFC 8628 §3.1), relative to the public URL: discovery's `device_authorization_endpoint`. */
export const DEVICE_AUTHORIZATION_PATH = '/auth/device/authorize';

/** The page where a user confirms a device's code (RFC 8628 `verification_uri`), relative to the public URL. */
export const DEVICE_VERIFICATION_PATH = '/device';

/** `token_endpoint_auth_methods_supported` (RFC 6749 §2.3; `none`: the first-party public client). */
export const TOKEN_ENDPOINT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;
