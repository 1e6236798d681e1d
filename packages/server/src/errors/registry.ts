/**
 * The one registry of stable error codes. Every error a client can see has a code here;
 * `errors.test.ts` checks the registry's shape, that the code base uses no other code and that
 * docs/errors.md lists exactly these; `copies.test.ts` holds the SDK's and the demo services'
 * copies of titles and statuses to it.
 * Codes are part of the public contract: never rename one, only add.
 */
export const ERROR_REGISTRY = {
  // 400
  invalid_request: { status: 400, title: 'The request is malformed' },
  invalid_body: { status: 400, title: 'The request body is not valid' },
  invalid_username: { status: 400, title: 'The username is not acceptable' },
  invalid_password: { status: 400, title: 'The password is not acceptable' },
  weak_password: { status: 400, title: 'The password is too easy to guess' },
  invalid_grant: { status: 400, title: 'The grant is invalid, expired or revoked' },
  unsupported_grant_type: { status: 400, title: 'The grant type is not supported' },
  invalid_scope: { status: 400, title: 'The requested scope is invalid or exceeds what may be granted' },
  unauthorized_client: { status: 400, title: 'The client may not use this grant type' },
  invalid_target: { status: 400, title: 'The client may not ask for a token for this audience' },
  challenge_required: { status: 400, title: 'A solved proof-of-work challenge is required' },
  invalid_challenge: { status: 400, title: 'The proof-of-work solution is wrong, expired or used' },
  authorization_pending: { status: 400, title: 'The user has not approved the device yet' },
  slow_down: { status: 400, title: 'The device polls too often' },
  access_denied: { status: 400, title: 'The user denied the device' },
  expired_token: { status: 400, title: 'The device code has expired' },
  invalid_user_code: { status: 400, title: 'The code is wrong, expired or used' },
  federation_failed: { status: 400, title: 'The sign-in with the external provider did not complete' },
  passkey_registration_failed: { status: 400, title: 'The passkey could not be registered' },
  invalid_reset_token: { status: 400, title: 'The password reset link is wrong, expired or used' },
  invalid_verification_token: { status: 400, title: 'The verification link is wrong, expired, used or for another address' },
  // 401
  unauthenticated: { status: 401, title: 'Authentication is required' },
  invalid_token: { status: 401, title: 'The credential is invalid or expired' },
  invalid_credentials: { status: 401, title: 'The username or password is wrong' },
  invalid_client: { status: 401, title: 'The client could not be authenticated' },
  mfa_required: { status: 401, title: 'The password is right; a second factor is required' },
  invalid_mfa_ticket: { status: 401, title: 'The MFA ticket is unknown, used or expired; sign in again' },
  invalid_mfa_code: { status: 401, title: 'The one-time code or recovery code is wrong or used' },
  insufficient_user_authentication: { status: 401, title: 'A stronger or more recent sign-in is required' },
  invalid_passkey: { status: 401, title: 'The passkey was not accepted' },
  // 403
  forbidden: { status: 403, title: 'Not allowed' },
  csrf: { status: 403, title: 'Cross-site request refused' },
  cors: { status: 403, title: 'Cross-origin request refused' },
  credential_not_allowed: { status: 403, title: 'This kind of credential may not call this endpoint' },
  insufficient_scope: { status: 403, title: 'The token lacks a scope this endpoint needs' },
  signup_disabled: { status: 403, title: 'This sign-in provider does not create new accounts' },
  websocket_disabled: { status: 403, title: 'This route does not take WebSocket connections' },
  admin_required: { status: 403, title: 'The admin role is required' },
  password_change_required: { status: 403, title: 'The password is right; a new password must be chosen first' },
  // 404 / 405
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  // 409
  username_taken: { status: 409, title: 'The username is taken' },
  identity_taken: { status: 409, title: 'This external account is linked to another user' },
  last_sign_in_method: { status: 409, title: 'The last way to sign in cannot be removed' },
  password_exists: { status: 409, title: 'The account has a password already' },
  mfa_enrolled: { status: 409, title: 'A one-time code app is set up already; remove it first' },
  mfa_not_enrolled: { status: 409, title: 'That second factor (the app, or a passkey) is not set up' },
  passkeys_unavailable: { status: 409, title: 'Passkeys are not available at this address' },
  last_admin: { status: 409, title: 'An admin cannot remove their own admin access' },
  // 421
  misdirected_request: { status: 421, title: 'This gateway does not serve that host' },
  // 411 / 413 / 415 / 431
  length_required: { status: 411, title: 'A Content-Length or chunked body is required' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported' },
  headers_too_large: { status: 431, title: 'The request headers are too large' },
  // 429
  rate_limited: { status: 429, title: 'Too many requests' },
  // 5xx: shown to clients only as their title, never with internal detail
  internal: { status: 500, title: 'Internal error' },
  bad_gateway: { status: 502, title: 'The upstream service did not answer' },
  unavailable: { status: 503, title: 'A store or service needed for this request is unavailable' },
  busy: { status: 503, title: 'Too many passwords are waiting to be checked' },
  federation_unavailable: { status: 503, title: 'The external sign-in provider is unavailable' },
  email_unavailable: { status: 503, title: 'Email cannot be sent' },
  gateway_timeout: { status: 504, title: 'The upstream service timed out' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_REGISTRY;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_REGISTRY, code);
}
