import type { Kysely, Selectable } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, numOrNull, type GatehouseDb, type SigningKeysTable } from '../sql/schema.js';
import type { KeyRecord, KeyStore } from '../types.js';

function toRecord(row: Selectable<SigningKeysTable>): KeyRecord {
  return {
    kid: row.kid,
    alg: 'EdDSA',
    publicJwk: JSON.parse(row.public_jwk) as Record<string, unknown>,
    privateJwe: row.private_jwe,
    createdAt: num(row.created_at),
    activatesAt: num(row.activates_at),
    retiresAt: numOrNull(row.retires_at),
    expiresAt: numOrNull(row.expires_at),
  };
}

/** KeyStore over kysely. Private keys arrive already encrypted (compact JWE). */
export class SqlKeyStore implements KeyStore {
  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {}

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'keys', op);
  }

  list(): Promise<KeyRecord[]> {
    return this.run(async () => {
      const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('activates_at').orderBy('kid').execute();
      return rows.map(toRecord);
    });
  }

  insert(key: KeyRecord): Promise<void> {
    return this.run(() => this.insertWith(this.db, key));
  }

  insertIfNoSigner(key: KeyRecord, now: number): Promise<boolean> {
    return this.run(() =>
      this.flavor.writeTransaction(this.db, async (trx) => {
        const signer = await trx
          .selectFrom('signing_keys')
          .select('kid')
          .where('activates_at', '<=', now)
          .where((eb) => eb.or([eb('retires_at', 'is', null), eb('retires_at', '>', now)]))
          .executeTakeFirst();
        if (signer) return false;
        await this.insertWith(trx, key);
        return true;
      }),
    );
  }

  private async insertWith(db: Kysely<GatehouseDb>, key: KeyRecord): Promise<void> {
    await db
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        alg: key.alg,
        public_jwk: JSON.stringify(key.publicJwk),
        private_jwe: key.privateJwe,
        created_at: key.createdAt,
        activates_at: key.activatesAt,
        retires_at: key.retiresAt,
        expires_at: key.expiresAt,
      })
      .execute();
  }

  retire(kid: string, retiresAt: number, expiresAt: number): Promise<void> {
    return this.run(async () => {
      await this.db.updateTable('signing_keys').set({ retires_at: retiresAt, expires_at: expiresAt }).where('kid', '=', kid).execute();
    });
  }

  deleteExpired(now: number): Promise<number> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('signing_keys').where('expires_at', 'is not', null).where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }
}
