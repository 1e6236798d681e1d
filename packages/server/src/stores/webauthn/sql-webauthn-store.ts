import type { Kysely, Selectable } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, numOrNull, type GatehouseDb, type WebauthnChallengesTable, type WebauthnCredentialsTable } from '../sql/schema.js';
import { PasskeyTakenError, type WebAuthnChallengeRecord, type WebAuthnCredentialRecord, type WebAuthnStore } from '../types.js';

function toCredential(row: Selectable<WebauthnCredentialsTable>): WebAuthnCredentialRecord {
  let transports: string[] = [];
  try {
    const parsed: unknown = JSON.parse(row.transports);
    if (Array.isArray(parsed)) transports = parsed.filter((t): t is string => typeof t === 'string');
  } catch {
    transports = [];
  }
  return {
    id: row.credential_id,
    userId: row.user_id,
    publicKey: row.public_key,
    counter: num(row.counter),
    transports,
    deviceType: row.device_type === 'multiDevice' ? 'multiDevice' : 'singleDevice',
    backedUp: num(row.backed_up) === 1,
    name: row.name,
    createdAt: num(row.created_at),
    lastUsedAt: numOrNull(row.last_used_at),
  };
}

function toChallenge(row: Selectable<WebauthnChallengesTable>): WebAuthnChallengeRecord {
  return {
    challengeHash: row.challenge_hash,
    kind: row.kind === 'registration' ? 'registration' : 'authentication',
    userId: row.user_id,
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
  };
}

/**
 * WebAuthnStore over kysely (SQLite and PostgreSQL alike). A challenge is taken by one
 * conditional UPDATE (`used_at is null`), a counter moved by one conditional UPDATE
 * (`counter = from`): whichever instance runs them, each succeeds once.
 */
export class SqlWebAuthnStore implements WebAuthnStore {
  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {}

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'webauthn', op);
  }

  createCredential(r: WebAuthnCredentialRecord): Promise<void> {
    return this.run(async () => {
      try {
        await this.db
          .insertInto('webauthn_credentials')
          .values({
            credential_id: r.id,
            user_id: r.userId,
            public_key: r.publicKey,
            counter: r.counter,
            transports: JSON.stringify(r.transports),
            device_type: r.deviceType,
            backed_up: r.backedUp ? 1 : 0,
            name: r.name,
            created_at: r.createdAt,
            last_used_at: r.lastUsedAt,
          })
          .execute();
      } catch (err) {
        if (this.flavor.classify(err).kind === 'unique_violation') throw new PasskeyTakenError();
        throw err;
      }
    });
  }

  findCredential(id: string): Promise<WebAuthnCredentialRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('webauthn_credentials').selectAll().where('credential_id', '=', id).executeTakeFirst();
      return row ? toCredential(row) : null;
    });
  }

  listCredentials(userId: string): Promise<WebAuthnCredentialRecord[]> {
    return this.run(async () => {
      const rows = await this.db.selectFrom('webauthn_credentials').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('credential_id').execute();
      return rows.map(toCredential);
    });
  }

  renameCredential(userId: string, id: string, name: string): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db.updateTable('webauthn_credentials').set({ name }).where('credential_id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  deleteCredential(userId: string, id: string): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('webauthn_credentials').where('credential_id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    });
  }

  recordUse(id: string, use: { fromCounter: number; counter: number; backedUp: boolean; at: number }): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db
        .updateTable('webauthn_credentials')
        .set({ counter: use.counter, backed_up: use.backedUp ? 1 : 0, last_used_at: use.at })
        .where('credential_id', '=', id)
        .where('counter', '=', use.fromCounter)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  createChallenge(r: WebAuthnChallengeRecord): Promise<void> {
    return this.run(async () => {
      await this.db
        .insertInto('webauthn_challenges')
        .values({ challenge_hash: r.challengeHash, kind: r.kind, user_id: r.userId, created_at: r.createdAt, expires_at: r.expiresAt, used_at: null })
        .execute();
    });
  }

  consumeChallenge(challengeHash: string, kind: WebAuthnChallengeRecord['kind'], now: number): Promise<WebAuthnChallengeRecord | null> {
    return this.run(async () => {
      const row = await this.db
        .updateTable('webauthn_challenges')
        .set({ used_at: now })
        .where('challenge_hash', '=', challengeHash)
        .where('kind', '=', kind)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row ? toChallenge(row) : null;
    });
  }

  deleteExpiredChallenges(before: number): Promise<number> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('webauthn_challenges').where('expires_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }
}
