import type { Kysely, Selectable } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, numOrNull, type GatehouseDb, type MfaTicketsTable, type TotpFactorsTable } from '../sql/schema.js';
import type { MfaStore, MfaTicketRecord, TotpFactorRecord } from '../types.js';

function toTotp(row: Selectable<TotpFactorsTable>): TotpFactorRecord {
  return {
    userId: row.user_id,
    secretJwe: row.secret_jwe,
    createdAt: num(row.created_at),
    confirmedAt: numOrNull(row.confirmed_at),
    lastStep: numOrNull(row.last_step),
  };
}

function toTicket(row: Selectable<MfaTicketsTable>): MfaTicketRecord {
  return {
    ticketHash: row.ticket_hash,
    userId: row.user_id,
    via: row.via,
    deviceId: row.device_id,
    deviceName: row.device_name,
    persistent: num(row.persistent) === 1,
    clientId: row.client_id,
    scope: row.scope,
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
    usedAt: numOrNull(row.used_at),
  };
}

/**
 * MfaStore over kysely (SQLite and PostgreSQL alike). Every single use (a TOTP step, a recovery
 * code, a ticket) is one conditional UPDATE whose WHERE holds the state it expects, so of two
 * instances taking the same one at once exactly one updates a row.
 */
export class SqlMfaStore implements MfaStore {
  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {}

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'mfa', op);
  }

  findTotp(userId: string): Promise<TotpFactorRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('totp_factors').selectAll().where('user_id', '=', userId).executeTakeFirst();
      return row ? toTotp(row) : null;
    });
  }

  putPendingTotp(r: TotpFactorRecord): Promise<boolean> {
    return this.run(() =>
      this.flavor.writeTransaction(this.db, async (trx) => {
        const existing = await trx.selectFrom('totp_factors').select(['confirmed_at']).where('user_id', '=', r.userId).executeTakeFirst();
        if (existing && existing.confirmed_at !== null) return false;
        if (existing) await trx.deleteFrom('totp_factors').where('user_id', '=', r.userId).where('confirmed_at', 'is', null).execute();
        await trx
          .insertInto('totp_factors')
          .values({ user_id: r.userId, secret_jwe: r.secretJwe, created_at: r.createdAt, confirmed_at: null, last_step: null })
          .execute();
        return true;
      }),
    );
  }

  confirmTotp(userId: string, secretJwe: string, step: number, at: number): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db
        .updateTable('totp_factors')
        .set({ confirmed_at: at, last_step: step })
        .where('user_id', '=', userId)
        .where('secret_jwe', '=', secretJwe)
        .where('confirmed_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  useTotpStep(userId: string, step: number): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db
        .updateTable('totp_factors')
        .set({ last_step: step })
        .where('user_id', '=', userId)
        .where('confirmed_at', 'is not', null)
        .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  deleteTotp(userId: string): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('totp_factors').where('user_id', '=', userId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], at: number): Promise<void> {
    return this.run(() =>
      this.flavor.writeTransaction(this.db, async (trx) => {
        await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
        if (codeHashes.length === 0) return;
        await trx
          .insertInto('recovery_codes')
          .values(codeHashes.map((h) => ({ user_id: userId, code_hash: h, created_at: at, used_at: null })))
          .execute();
      }),
    );
  }

  useRecoveryCode(userId: string, codeHash: string, at: number): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db
        .updateTable('recovery_codes')
        .set({ used_at: at })
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  countUnusedRecoveryCodes(userId: string): Promise<number> {
    return this.run(async () => {
      const row = await this.db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow();
      return num(row.n);
    });
  }

  deleteRecoveryCodes(userId: string): Promise<number> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('recovery_codes').where('user_id', '=', userId).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }

  createTicket(t: MfaTicketRecord): Promise<void> {
    return this.run(async () => {
      await this.db
        .insertInto('mfa_tickets')
        .values({
          ticket_hash: t.ticketHash,
          user_id: t.userId,
          via: t.via,
          device_id: t.deviceId,
          device_name: t.deviceName,
          persistent: t.persistent ? 1 : 0,
          client_id: t.clientId,
          scope: t.scope,
          created_at: t.createdAt,
          expires_at: t.expiresAt,
          used_at: t.usedAt,
        })
        .execute();
    });
  }

  findTicket(ticketHash: string): Promise<MfaTicketRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('mfa_tickets').selectAll().where('ticket_hash', '=', ticketHash).executeTakeFirst();
      return row ? toTicket(row) : null;
    });
  }

  useTicket(ticketHash: string, now: number): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db
        .updateTable('mfa_tickets')
        .set({ used_at: now })
        .where('ticket_hash', '=', ticketHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  deleteExpiredTickets(before: number): Promise<number> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('mfa_tickets').where('expires_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }
}
