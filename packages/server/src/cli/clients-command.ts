import type { GatehouseConfig } from '../config/types.js';
import { removeClientEverywhere } from '../auth/client-removal.js';
import { addClient, ClientRuleError, MAX_SECRET_OVERLAP_MS, rotateClientSecret, updateClient } from '../credentials/clients.js';
import { grantableScopes } from '../credentials/scope.js';
import type { ClientRecord } from '../stores/types.js';
import { openDeps } from '../start/open-deps.js';
import { createLogger } from '../util/logger.js';
import { nearest } from '../util/nearest.js';

export interface ClientOptions {
  name?: string | undefined;
  type?: string | undefined;
  grants?: string | undefined;
  scopes?: string | undefined;
  audiences?: string | undefined;
  service?: string | undefined;
  overlap?: string | undefined;
  json: boolean;
}

const SUBCOMMANDS = ['add', 'update', 'list', 'rotate-secret', 'remove'];
const USAGE =
  'Usage: gatehouse clients add <id> --name NAME --type public|confidential --grants G,... --scopes S,... [--audiences A,...] [--service NAME]' +
  ' | clients list [--json] | clients rotate-secret <id> [--overlap 24h] | clients remove <id>';

/** A usage mistake: the message, then the usage line, exit 2. */
class ClientsUsage extends Error {}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "24h", "7d", or "0". */
export function parseOverlap(text: string): number {
  const m = /^(\d{1,7})([smhd])$/.exec(text.trim());
  const ms = text.trim() === '0' ? 0 : m ? Number(m[1]) * UNIT_MS[m[2]!]! : NaN;
  if (!Number.isSafeInteger(ms) || ms > MAX_SECRET_OVERLAP_MS) {
    throw new ClientsUsage(`--overlap must be a duration from 0 to 30d, like 90s, 30m, 24h or 7d (0: the old secret stops now), got ${JSON.stringify(text)}.`);
  }
  return ms;
}

/** "a,b, c" -> ["a", "b", "c"]; undefined -> []. */
function listOf(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function onlyFor(sub: string, options: ClientOptions, allowed: readonly (keyof ClientOptions)[]): void {
  const given = (['name', 'type', 'grants', 'scopes', 'audiences', 'service', 'overlap', 'json'] as const).filter((k) => (k === 'json' ? options.json : options[k] !== undefined));
  const stray = given.find((k) => !allowed.includes(k));
  if (stray !== undefined) throw new ClientsUsage(`--${stray} does not apply to "clients ${sub}".`);
}

const iso = (t: number | null): string => (t === null ? '-' : new Date(t).toISOString());

/** What `list --json` shows of a client: everything but the secrets' hashes. */
function publicView(c: ClientRecord): Record<string, unknown> {
  const { secrets, ...rest } = c;
  return { ...rest, secrets: secrets.map((s) => ({ createdAt: s.createdAt, notAfter: s.notAfter })) };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `${r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  ')}\n`).join('');
}

function secretsCell(c: ClientRecord, now: number): string {
  if (c.type === 'public') return '-';
  const live = c.secrets.filter((s) => s.notAfter === null || s.notAfter > now);
  const ending = live.find((s) => s.notAfter !== null);
  return ending ? `${live.length} (previous until ${iso(ending.notAfter)})` : String(live.length);
}

/** `gatehouse clients ...`: the OAuth client registry, on the same data as a running Gatehouse. */
export async function runClients(config: GatehouseConfig, args: string[], options: ClientOptions): Promise<number> {
  const [sub, id] = args;
  try {
    if (sub === 'add' && id !== undefined && args.length === 2) {
      onlyFor(sub, options, ['name', 'type', 'grants', 'scopes', 'audiences', 'service']);
      for (const k of ['name', 'type', 'grants', 'scopes'] as const) if (options[k] === undefined) throw new ClientsUsage(`"clients add" needs --${k}.`);
      return await withStores(config, async (opened) => {
        const now = opened.deps.clock.now();
        const spec = {
          clientId: id,
          name: options.name!,
          type: options.type!,
          grants: listOf(options.grants),
          scopes: listOf(options.scopes),
          audiences: listOf(options.audiences),
          service: options.service,
        };
        const { client, secret } = await addClient(opened.deps.stores.clients, spec, grantableScopes(config), now);
        process.stdout.write(`Created ${client.type} client ${client.clientId} ("${client.name}") with grants ${client.grants.join(', ')}.\n`);
        if (secret !== null) {
          process.stdout.write(`Its secret (shown only now; store it in the service's secret store):\n${secret}\n`);
          process.stdout.write(`The service's passports are for "${client.service}".\n`);
        }
        if (client.grants.includes('device_code')) {
          process.stdout.write(`Devices start signing in with POST /auth/device/authorize, client_id=${client.clientId}; people confirm the code at /device (docs/device-flow.md).\n`);
        }
        return 0;
      });
    }
    if (sub === 'update' && id !== undefined && args.length === 2) {
      onlyFor(sub, options, ['name', 'grants', 'scopes', 'audiences', 'service']);
      return await withStores(config, async (opened) => {
        const update = {
          name: options.name,
          grants: options.grants === undefined ? undefined : listOf(options.grants),
          scopes: options.scopes === undefined ? undefined : listOf(options.scopes),
          audiences: options.audiences === undefined ? undefined : listOf(options.audiences),
          service: options.service,
        };
        const client = await updateClient(opened.deps.stores.clients, id, update, grantableScopes(config), opened.deps.clock.now());
        process.stdout.write(
          `Updated ${client.type} client ${client.clientId} ("${client.name}"): grants ${client.grants.join(', ')}; scopes ${client.scopes.join(', ')}; ` +
            `audiences ${client.audiences.join(', ') || '-'}${client.service !== null ? `; its passports are for "${client.service}". Its secret is unchanged` : ''}.\n`,
        );
        return 0;
      });
    }
    if (sub === 'list' && args.length === 1) {
      onlyFor(sub, options, ['json']);
      return await withStores(config, async (opened) => {
        const clients = await opened.deps.stores.clients.list();
        if (options.json) {
          process.stdout.write(`${JSON.stringify(clients.map(publicView), null, 2)}\n`);
          return 0;
        }
        if (clients.length === 0) {
          process.stdout.write('No OAuth clients yet. Register one with "gatehouse clients add <id> ...".\n');
          return 0;
        }
        const now = opened.deps.clock.now();
        const rows = [
          ['CLIENT ID', 'TYPE', 'NAME', 'GRANTS', 'SCOPES', 'AUDIENCES', 'SERVICE', 'SECRETS', 'LAST USED'],
          ...clients.map((c) => [c.clientId, c.type, c.name, c.grants.join(','), c.scopes.join(','), c.audiences.join(',') || '-', c.service ?? '-', secretsCell(c, now), iso(c.lastUsedAt)]),
        ];
        process.stdout.write(table(rows));
        return 0;
      });
    }
    if (sub === 'rotate-secret' && id !== undefined && args.length === 2) {
      onlyFor(sub, options, ['overlap']);
      const overlapMs = options.overlap === undefined ? config.clients.secretOverlapSec * 1000 : parseOverlap(options.overlap);
      return await withStores(config, async (opened) => {
        const { secret, previousValidUntil } = await rotateClientSecret(opened.deps.stores.clients, id, overlapMs, opened.deps.clock.now());
        process.stdout.write(`New secret of ${id} (shown only now; store it in the service's secret store):\n${secret}\n`);
        process.stdout.write(
          previousValidUntil === null ? 'The previous secret no longer works.\n' : `The previous secret keeps working until ${iso(previousValidUntil)}; an older one no longer works.\n`,
        );
        return 0;
      });
    }
    if (sub === 'remove' && id !== undefined && args.length === 2) {
      onlyFor(sub, options, []);
      // The removal is recorded in the revocation log, which every running gateway reads: with
      // Redis it is also published on the feed (at once); without, a single node's gateway reads
      // the log every revocations.pollIntervalMs. The device sessions granted to the client end too.
      return await withStores(config, async (opened) => {
        const { endedSessions } = await removeClientEverywhere(opened.deps, id);
        process.stdout.write(`Removed client ${id}. It can no longer get tokens.\n`);
        if (endedSessions.length > 0) process.stdout.write(`Ended ${endedSessions.length} device session${endedSessions.length === 1 ? '' : 's'} signed in through it (gone from their users' device lists).\n`);
        const poll = config.revocations.pollIntervalMs;
        process.stdout.write(
          config.redisUrl !== null
            ? 'Its tokens were revoked on every gateway (revocation feed; within seconds by polling for a gateway that was away from Redis).\n'
            : poll > 0
              ? `Running gateways refuse its tokens within revocations.pollIntervalMs (${poll} ms); restarted ones at once.\n`
              : `Running gateways refuse its client tokens within session.cacheTtlMs (${config.session.cacheTtlMs} ms) (revocations.pollIntervalMs is 0); restarted ones at once.\n`,
        );
        return 0;
      }, { redis: true });
    }
  } catch (err) {
    if (err instanceof ClientsUsage) {
      process.stderr.write(`gatehouse: ${err.message} ${USAGE}\n`);
      return 2;
    }
    if (err instanceof ClientRuleError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const near = sub !== undefined && !SUBCOMMANDS.includes(sub) ? nearest(sub, SUBCOMMANDS) : undefined;
  process.stderr.write(`${near !== undefined ? `gatehouse: unknown clients command "${sub}" (did you mean "${near}"?). ` : ''}${USAGE}\n`);
  return 2;
}

type Opened = Awaited<ReturnType<typeof openDeps>>;

async function withStores(config: GatehouseConfig, fn: (opened: Opened) => Promise<number>, options: { redis?: boolean } = {}): Promise<number> {
  // Redis only where a command publishes a revocation (remove); the others only read or write the registry.
  const opened = await openDeps(config, { logger: createLogger('silent'), redis: options.redis === true });
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}
