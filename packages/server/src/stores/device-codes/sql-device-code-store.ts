import type { CompiledQuery, Kysely, Selectable } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, numOrNull, type DeviceCodesTable, type GatehouseDb } from '../sql/schema.js';
import { UserCodeTakenError, type DeviceCodeRecord, type DeviceCodeStatus, type DeviceCodeStore } from '../types.js';

const STATUSES: readonly DeviceCodeStatus[] = ['pending', 'approved', 'denied', 'redeemed'];

function toRecord(row: Selectable<DeviceCodesTable>): DeviceCodeRecord {
  return {
    deviceCodeHash: row.device_code_hash,
    userCode: row.user_code,
    clientId: row.client_id,
    scope: row.scope,
    deviceName: row.device_name,
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
    intervalSec: num(row.interval_sec),
    lastPollAt: numOrNull(row.last_poll_at),
    // An unknown value (a later version's) is treated as used: never approvable, never redeemable.
    status: (STATUSES as readonly string[]).includes(row.status) ? (row.status as DeviceCodeStatus) : 'redeemed',
    userId: row.user_id,
    // Only where an approval recorded them (migration 0010).
    ...(row.approved_amr ? { approvedAmr: row.approved_amr.split(' ') } : {}),
    ...(row.approved_auth_time !== null && row.approved_auth_time !== undefined ? { approvedAuthTime: num(row.approved_auth_time) } : {}),
  };
}

/**
 * DeviceCodeStore over kysely (SQLite and PostgreSQL alike). Every state change is one
 * conditional UPDATE (`where status = …`), so of two instances deciding, redeeming or slowing
 * down the same request at once exactly one changes it. The poll's read (`findByHash`) is
 * compiled once: a device polls every few seconds for minutes.
 */
export class SqlDeviceCodeStore implements DeviceCodeStore {
  private readonly byHash: CompiledQuery;

  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {
    this.byHash = db.selectFrom('device_codes').selectAll().where('device_code_hash', '=', '').compile();
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'device codes', op);
  }

  create(r: DeviceCodeRecord): Promise<void> {
    return this.run(async () => {
      try {
        await this.flavor.writeTransaction(this.db, async (trx) => {
          // A user code is unique among requests that have not expired; an expired holder goes.
          await trx.deleteFrom('device_codes').where('user_code', '=', r.userCode).where('expires_at', '<=', r.createdAt).execute();
          await trx
            .insertInto('device_codes')
            .values({
              device_code_hash: r.deviceCodeHash,
              user_code: r.userCode,
              client_id: r.clientId,
              scope: r.scope,
              device_name: r.deviceName,
              created_at: r.createdAt,
              expires_at: r.expiresAt,
              interval_sec: r.intervalSec,
              last_poll_at: r.lastPollAt,
              status: r.status,
              user_id: r.userId,
            })
            .execute();
        });
      } catch (err) {
        if (this.flavor.classify(err).kind === 'unique_violation') throw new UserCodeTakenError();
        throw err;
      }
    });
  }

  findByHash(deviceCodeHash: string): Promise<DeviceCodeRecord | null> {
    return this.run(async () => {
      const { rows } = await this.db.executeQuery<Selectable<DeviceCodesTable>>({ ...this.byHash, parameters: [deviceCodeHash] });
      const row = rows[0];
      return row ? toRecord(row) : null;
    });
  }

  findPendingByUserCode(userCode: string, now: number): Promise<DeviceCodeRecord | null> {
    return this.run(async () => {
      const row = await this.db
        .selectFrom('device_codes')
        .selectAll()
        .where('user_code', '=', userCode)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    });
  }

  decide(userCode: string, decision: 'approved' | 'denied', userId: string, now: number, approval?: { amr: readonly string[]; authTime: number }): Promise<DeviceCodeRecord | null> {
    return this.run(async () => {
      const row = await this.db
        .updateTable('device_codes')
        .set({ status: decision, user_id: userId, approved_amr: approval === undefined ? null : approval.amr.join(' '), approved_auth_time: approval?.authTime ?? null })
        .where('user_code', '=', userCode)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    });
  }

  redeem(deviceCodeHash: string, now: number): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db
        .updateTable('device_codes')
        .set({ status: 'redeemed' })
        .where('device_code_hash', '=', deviceCodeHash)
        .where('status', '=', 'approved')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  release(deviceCodeHash: string): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db
        .updateTable('device_codes')
        .set({ status: 'approved' })
        .where('device_code_hash', '=', deviceCodeHash)
        .where('status', '=', 'redeemed')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  slowDown(deviceCodeHash: string, fromIntervalSec: number, intervalSec: number, at: number): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db
        .updateTable('device_codes')
        .set({ interval_sec: intervalSec, last_poll_at: at })
        .where('device_code_hash', '=', deviceCodeHash)
        .where('interval_sec', '=', fromIntervalSec)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  deleteExpired(before: number): Promise<number> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('device_codes').where('expires_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }
}
