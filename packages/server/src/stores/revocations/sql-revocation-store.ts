import type { CompiledQuery, Kysely } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import type { GatehouseDb } from '../sql/schema.js';
import type { RevocationEvent, RevocationStore } from '../types.js';

/** Durable revocation log over kysely; events are JSON text, ordered by (at, seq). */
export class SqlRevocationStore implements RevocationStore {
  /**
   * `since`, compiled once: a gateway without Redis reads the log every
   * `revocations.pollIntervalMs` (1 s), usually finding nothing, and building and compiling the
   * query each time was most of that read's cost.
   */
  private readonly sinceQuery: CompiledQuery;

  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {
    this.sinceQuery = db.selectFrom('revocations').select('event').where('at', '>', 0).orderBy('at').orderBy('seq').compile();
  }

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
      const { rows } = await this.db.executeQuery<{ event: string }>({ ...this.sinceQuery, parameters: [since] });
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
