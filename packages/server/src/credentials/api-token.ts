import type { Deps } from '../context.js';
import { hashSecret } from '../crypto/secrets.js';
import { isWellFormedApiToken } from './token-formats.js';
import type { ApiTokenRecord, UserRecord } from '../stores/types.js';

export interface ResolvedApiToken {
  token: ApiTokenRecord;
  user: UserRecord;
}

/**
 * Resolves a personal API token for the gateway (and revoke/introspect): format and checksum
 * first (a typo costs no lookup), then the hash lookup, the expiry and the owner. Null when any
 * of those fails. Does not record the use (the gateway calls `apiTokens.touchLastUsed`, throttled).
 */
export async function resolveApiToken(deps: Pick<Deps, 'stores' | 'clock'>, token: string): Promise<ResolvedApiToken | null> {
  if (!isWellFormedApiToken(token)) return null;
  const record = await deps.stores.apiTokens.findByHash(hashSecret(token));
  if (!record) return null;
  if (record.expiresAt !== null && record.expiresAt <= deps.clock.now()) return null;
  const user = await deps.stores.users.findById(record.userId);
  if (!user) return null;
  return { token: record, user };
}
