import type { Deps } from '../context.js';
import { hashSecret } from '../crypto/secrets.js';
import { isWellFormedApiToken } from './token-formats.js';
import type { ApiTokenRecord, UserSummary } from '../stores/types.js';

export interface ResolvedApiToken {
  token: ApiTokenRecord;
  user: UserSummary;
}

/**
 * Resolves a personal API token for the gateway (and revoke/introspect): format and checksum
 * first (a typo costs no lookup), then one read of the token and its owner, then the expiry. Null when any
 * of those fails. Does not record the use (the gateway calls `apiTokens.touchLastUsed`, throttled).
 */
export async function resolveApiToken(deps: Pick<Deps, 'stores' | 'clock'>, token: string): Promise<ResolvedApiToken | null> {
  if (!isWellFormedApiToken(token)) return null;
  const found = await deps.stores.apiTokens.getWithUser(hashSecret(token));
  if (!found) return null;
  if (found.token.expiresAt !== null && found.token.expiresAt <= deps.clock.now()) return null;
  return found;
}
