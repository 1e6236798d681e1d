import type { CompiledQuery, Kysely, Selectable } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, numOrNull, type GatehouseDb, type OauthClientsTable } from '../sql/schema.js';
import {
  CLIENT_GRANTS,
  CLIENT_ID_RE,
  ClientIdTakenError,
  FIRST_PARTY_CLIENT_ID,
  ClientIdRefusedError,
  type ClientChanges,
  type ClientGrant,
  type ClientRecord,
  type ClientSecretRecord,
  type ClientStore,
} from '../types.js';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function parseStrings(text: string): string[] {
  const v = parseJson(text);
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

function parseSecrets(text: string): ClientSecretRecord[] {
  const v = parseJson(text);
  if (!Array.isArray(v)) return [];
  const out: ClientSecretRecord[] = [];
  for (const s of v as unknown[]) {
    if (typeof s !== 'object' || s === null) continue;
    const { hash, createdAt, notAfter } = s as Record<string, unknown>;
    if (typeof hash !== 'string' || typeof createdAt !== 'number' || (notAfter !== null && typeof notAfter !== 'number')) continue;
    out.push({ hash, createdAt, notAfter });
  }
  return out;
}

const toGrants = (text: string): ClientGrant[] => parseStrings(text).filter((g): g is ClientGrant => (CLIENT_GRANTS as readonly string[]).includes(g));

function toRecord(row: Selectable<OauthClientsTable>): ClientRecord {
  return {
    clientId: row.client_id,
    name: row.name,
    type: row.type === 'confidential' ? 'confidential' : 'public',
    grants: toGrants(row.grants),
    scopes: parseStrings(row.scopes),
    audiences: parseStrings(row.audiences),
    service: row.service,
    secrets: parseSecrets(row.secrets),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    lastUsedAt: numOrNull(row.last_used_at),
  };
}

/** Only what a secret record holds, in a fixed key order (no stray field reaches the column). */
const secretsJson = (secrets: readonly ClientSecretRecord[]): string => JSON.stringify(secrets.map(({ hash, createdAt, notAfter }) => ({ hash, createdAt, notAfter })));

/**
 * ClientStore over kysely (SQLite and PostgreSQL alike). A client is one row; its secrets (at
 * most two SHA-256 hashes) are a JSON column, since a secret is always checked for a known
 * client id (HTTP Basic / client_secret_post name it) and rotation rewrites them together.
 */
export class SqlClientStore implements ClientStore {
  /** `get`, compiled once: the token endpoint reads a client on every client authentication. */
  private readonly byId: CompiledQuery;

  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {
    this.byId = db.selectFrom('oauth_clients').selectAll().where('client_id', '=', '').compile();
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'clients', op);
  }

  create(c: ClientRecord): Promise<void> {
    if (c.clientId === FIRST_PARTY_CLIENT_ID || !CLIENT_ID_RE.test(c.clientId)) return Promise.reject(new ClientIdRefusedError(c.clientId));
    return this.run(async () => {
      try {
        await this.db
          .insertInto('oauth_clients')
          .values({
            client_id: c.clientId,
            name: c.name,
            type: c.type,
            grants: JSON.stringify(c.grants),
            scopes: JSON.stringify(c.scopes),
            audiences: JSON.stringify(c.audiences),
            service: c.service,
            secrets: secretsJson(c.secrets),
            created_at: c.createdAt,
            updated_at: c.updatedAt,
            last_used_at: c.lastUsedAt,
          })
          .execute();
      } catch (err) {
        if (this.flavor.classify(err).kind === 'unique_violation') throw new ClientIdTakenError(c.clientId);
        throw err;
      }
    });
  }

  get(clientId: string): Promise<ClientRecord | null> {
    return this.run(async () => {
      const { rows } = await this.db.executeQuery<Selectable<OauthClientsTable>>({ ...this.byId, parameters: [clientId] });
      const row = rows[0];
      return row ? toRecord(row) : null;
    });
  }

  list(): Promise<ClientRecord[]> {
    return this.run(async () => {
      const rows = await this.db.selectFrom('oauth_clients').selectAll().orderBy('client_id').execute();
      return rows.map(toRecord);
    });
  }

  update(clientId: string, changes: ClientChanges, now: number): Promise<ClientRecord | null> {
    return this.run(async () => {
      const set: Partial<OauthClientsTable> = { updated_at: now };
      if (changes.name !== undefined) set.name = changes.name;
      if (changes.grants !== undefined) set.grants = JSON.stringify(changes.grants);
      if (changes.scopes !== undefined) set.scopes = JSON.stringify(changes.scopes);
      if (changes.audiences !== undefined) set.audiences = JSON.stringify(changes.audiences);
      if (changes.service !== undefined) set.service = changes.service;
      const r = await this.db.updateTable('oauth_clients').set(set).where('client_id', '=', clientId).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return null;
      return this.get(clientId);
    });
  }

  rotateSecret(clientId: string, next: ClientSecretRecord, previousNotAfter: number, now: number): Promise<ClientRecord | null> {
    return this.run(() =>
      this.flavor.writeTransaction(this.db, async (trx) => {
        const row = await trx.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
        if (row === undefined) return null;
        const live = parseSecrets(row.secrets).filter((s) => s.notAfter === null || s.notAfter > now);
        const current = live.at(-1);
        const secrets: ClientSecretRecord[] = [];
        if (current !== undefined && previousNotAfter > now) {
          secrets.push({ ...current, notAfter: current.notAfter === null ? previousNotAfter : Math.min(current.notAfter, previousNotAfter) });
        }
        secrets.push(next);
        await trx.updateTable('oauth_clients').set({ secrets: secretsJson(secrets), updated_at: now }).where('client_id', '=', clientId).execute();
        return toRecord({ ...row, secrets: secretsJson(secrets), updated_at: now });
      }),
    );
  }

  touchLastUsed(clientId: string, at: number): Promise<void> {
    return this.run(async () => {
      await this.db
        .updateTable('oauth_clients')
        .set({ last_used_at: at })
        .where('client_id', '=', clientId)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
        .execute();
    });
  }

  remove(clientId: string): Promise<boolean> {
    if (clientId === FIRST_PARTY_CLIENT_ID) return Promise.reject(new ClientIdRefusedError(clientId));
    return this.run(async () => {
      const r = await this.db.deleteFrom('oauth_clients').where('client_id', '=', clientId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }
}
