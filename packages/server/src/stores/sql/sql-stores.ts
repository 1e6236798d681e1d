import { sql, type Kysely, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import { SqlApiTokenStore } from '../api-tokens/sql-api-token-store.js';
import { SqlAuditStore } from '../audit/sql-audit-store.js';
import { SqlClientStore } from '../clients/sql-client-store.js';
import { SqlEmailStore } from '../emails/sql-email-store.js';
import { SqlDeviceCodeStore } from '../device-codes/sql-device-code-store.js';
import { SqlIdentityStore } from '../identities/sql-identity-store.js';
import { SqlKeyStore } from '../keys/sql-key-store.js';
import { SqlMfaStore } from '../mfa/sql-mfa-store.js';
import { MemoryRateLimitStore } from '../rate-limits/memory-rate-limit-store.js';
import { SqlRefreshTokenStore, type DirectSqlite } from '../refresh-tokens/sql-refresh-token-store.js';
import { SqlRevocationStore } from '../revocations/sql-revocation-store.js';
import { SqlSessionStore } from '../sessions/sql-session-store.js';
import type { DatabaseHealth } from '../health/database-health.js';
import { StoreHealth } from '../health/store-health.js';
import type { Stores } from '../types.js';
import { SqlUserStore } from '../users/sql-user-store.js';
import { SqlWebAuthnStore } from '../webauthn/sql-webauthn-store.js';
import type { SqlFlavor } from './flavor.js';
import type { GatehouseDb } from './schema.js';

/** Makes one Stores' queries fail like a closed connection once that Stores is closed. */
class ClosedGuard implements KyselyPlugin {
  closed = false;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.closed) throw new Error('The database connection is not open');
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/**
 * Every SQL store on one kysely database, whatever the dialect (SQLite or PostgreSQL, told
 * apart only by the flavor). Rate-limit counters live in this process's memory; scale-out
 * swaps in the Redis store. `release` runs once, on the first `close()`. `database` is the
 * database's health (breaker, storage), shared with whoever owns it; `health` lists it.
 */
export function buildSqlStores(base: Kysely<GatehouseDb>, flavor: SqlFlavor, label: string, release: () => Promise<void>, database?: DatabaseHealth, direct?: DirectSqlite): Stores {
  const guard = new ClosedGuard();
  const db = base.withPlugin(guard);
  const health = new StoreHealth();
  if (database !== undefined) {
    health.add(database.database, { owned: false, breaker: database.breaker });
    health.add(database.storage, { owned: false });
  }
  return {
    health,
    describe: { users: label, sessions: label, keys: label, revocations: label, refreshTokens: label, apiTokens: label, clients: label, deviceCodes: label, identities: label, rateLimits: 'memory', audit: label, mfa: label },
    users: new SqlUserStore(db, flavor),
    sessions: new SqlSessionStore(db, flavor),
    keys: new SqlKeyStore(db, flavor),
    revocations: new SqlRevocationStore(db, flavor),
    refreshTokens: new SqlRefreshTokenStore(db, flavor, direct),
    apiTokens: new SqlApiTokenStore(db, flavor),
    clients: new SqlClientStore(db, flavor),
    deviceCodes: new SqlDeviceCodeStore(db, flavor),
    identities: new SqlIdentityStore(db, flavor),
    webauthn: new SqlWebAuthnStore(db, flavor),
    rateLimits: new MemoryRateLimitStore(),
    audit: new SqlAuditStore(db, flavor),
    mfa: new SqlMfaStore(db, flavor),
    emails: new SqlEmailStore(db, flavor),
    async ready() {
      let ok = false;
      try {
        await sql`select 1`.execute(db);
        ok = true;
      } catch {
        ok = false;
      }
      return { users: ok, sessions: ok, keys: ok, revocations: ok, refreshTokens: ok, apiTokens: ok, clients: ok, deviceCodes: ok, identities: ok, rateLimits: true, audit: ok, mfa: ok };
    },
    async close() {
      if (guard.closed) return;
      guard.closed = true;
      health.close();
      await release();
    },
  };
}
