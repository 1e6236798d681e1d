import type { GatehouseConfig } from '../config/types.js';
import { GatehouseError } from '../errors/index.js';

/** RFC 6749 §3.3 scope-token: printable ASCII without space, `"` and `\`. */
const SCOPE_TOKEN_RE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const MAX_SCOPES = 64;

function invalidScope(detail: string): GatehouseError {
  return new GatehouseError('invalid_scope', { detail });
}

/** Splits a space-separated scope string into unique scope tokens (order kept). Throws `invalid_scope`. */
export function parseScope(scope: string): string[] {
  const parts = scope.split(' ').filter((s) => s !== '');
  if (parts.length === 0) throw invalidScope('The scope is empty.');
  if (parts.length > MAX_SCOPES) throw invalidScope(`At most ${MAX_SCOPES} scopes.`);
  for (const p of parts) if (!SCOPE_TOKEN_RE.test(p)) throw invalidScope('A scope is 1 to 128 printable characters without spaces, quotes or backslashes.');
  return [...new Set(parts)];
}

/**
 * The scopes to grant: all of `allowed` when nothing is requested, else the requested ones,
 * each of which must be in `allowed` (else `invalid_scope`, naming none of them).
 */
export function narrowScopes(requested: readonly string[] | undefined, allowed: readonly string[]): string[] {
  if (requested === undefined) return [...allowed];
  const outside = requested.filter((s) => !allowed.includes(s));
  if (outside.length > 0) throw invalidScope(`Not grantable here: ${outside.map((s) => JSON.stringify(s)).join(', ')}.`);
  return [...requested];
}

/** Every scope a token may carry (config `tokens.defaultScopes`). */
export function grantableScopes(config: GatehouseConfig): string[] {
  return [...config.tokens.defaultScopes];
}

/**
 * The scope that opens the account endpoints (sessions, sign-out-all, password, API tokens,
 * activity) to a token (DESIGN §6, `auth/lanes.ts`). Never a default: a token gets it only when
 * it is asked for by name, and only where `tokenScopes` is told it may be given.
 */
export const ACCOUNT_SCOPE = 'account';

/**
 * The scopes of a new token: every default scope when nothing is requested (never `account`);
 * else the requested ones, each a default scope or, when `accountGrantable`, `account`.
 */
export function tokenScopes(config: GatehouseConfig, requested: readonly string[] | undefined, accountGrantable: boolean): string[] {
  const defaults = grantableScopes(config);
  if (requested === undefined) return defaults;
  return narrowScopes(requested, accountGrantable ? [...defaults, ACCOUNT_SCOPE] : defaults);
}
