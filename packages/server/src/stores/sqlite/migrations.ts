import { Migrator, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import { gatehouseMigrations } from '../sql/migrations.js';
import type { GatehouseDb } from '../sql/schema.js';
import { sqliteFlavor } from './sqlite-flavor.js';

/** Carries a failed result out of the transaction so it rolls back. */
class MigrationFailed extends Error {
  constructor(readonly result: MigrationResultSet) {
    super('migration failed');
  }
}

class InCodeProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.migrations;
  }
}

/**
 * Brings the schema to the latest version. Safe when several processes open the same file
 * together: the steps are idempotent and a busy or lost race is retried.
 */
export async function migrateSqlite(db: Kysely<GatehouseDb>): Promise<void> {
  const provider = new InCodeProvider(gatehouseMigrations(sqliteFlavor));
  for (let attempt = 1; ; attempt++) {
    // One write transaction (BEGIN IMMEDIATE) around the whole run serialises processes.
    const { error, results } = await sqliteFlavor
      .writeTransaction(db, async (trx) => {
        const result = await new Migrator({ db: trx, provider, disableTransactions: true }).migrateToLatest();
        if (result.error !== undefined) throw new MigrationFailed(result);
        return result;
      })
      .catch((err: unknown) => (err instanceof MigrationFailed ? err.result : { error: err, results: undefined }));
    if (error === undefined) return;
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const retryable = sqliteFlavor.classify(error).kind !== 'other' || isRaceError(error);
    if (attempt >= 5 || !retryable) {
      throw new Error(`SQLite migration ${failed ?? '(setup)'} failed`, { cause: error });
    }
    await new Promise((r) => setTimeout(r, 50 * attempt));
  }
}

/** Another process created the migration tables or rows between our check and our write. */
function isRaceError(err: unknown): boolean {
  return err instanceof Error && /already exists|UNIQUE constraint failed/i.test(err.message);
}
