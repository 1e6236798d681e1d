import type { Kysely } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import type { GatehouseDb } from '../sql/schema.js';
import type { RevocationEvent, RevocationStore } from '../types.js';

/** Durable revocation log over kysely; events are JSON text, ordered by (at, seq). */
export class SqlRevocationStore implements RevocationStore {
  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {}

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'revocations', op);
  }

  add(event: RevocationEvent, keepUntil: number): Promise<void> {
    return this.run(async () => {
      await this.db.insertInto('revocations').values({ event: JSON.stringify(event), at: event.at, keep_until: keepUntil }).execute();
    });
  }

  since(since: number): Promise<RevocationEvent[]> {
    return this.run(async () => {
      const rows = await this.db.selectFrom('revocations').select('event').where('at', '>', since).orderBy('at').orderBy('seq').execute();
      return rows.map((r) => JSON.parse(r.event) as RevocationEvent);
    });
  }

  deleteExpired(now: number): Promise<number> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('revocations').where('keep_until', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }
}
