import type { GatehouseConfig } from '../config/types.js';
import { hashSecret, safeEqual } from '../crypto/secrets.js';
import {
  CLIENT_GRANTS,
  CLIENT_ID_RE,
  ClientIdTakenError,
  FIRST_PARTY_CLIENT_ID,
  ClientIdRefusedError,
  type ClientChanges,
  type ClientGrant,
  type ClientRecord,
  type ClientStore,
  type ClientType,
  type RevocationEvent,
} from '../stores/types.js';
import { nearest } from '../util/nearest.js';
import { AUTH_SERVICE } from './auth-service.js';
import { ACCOUNT_SCOPE } from './scope.js';
import { generateClientSecret, isWellFormedClientSecret } from './token-formats.js';

/**
 * The OAuth client registry's rules (issue 14, part 1): what a client may be, its secrets, and
 * the operations `gatehouse clients` runs. The grants that use clients (device code, client
 * credentials, token exchange) come next and read clients through `verifyClientSecret` and the
 * store. Never logs: a secret is returned to the caller once and only its hash is stored.
 */

/** A client the rules refuse: the message says what is wrong and what to do instead. */
export class ClientRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientRuleError';
  }
}

/** Grants a public client (no secret: anyone holding the app has its id) may never have. */
const CONFIDENTIAL_ONLY_GRANTS: readonly ClientGrant[] = ['client_credentials', 'token-exchange'];
/** A service name, as routes' `service` (config/list-items.ts). */
const SERVICE_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
/** RFC 6749 §3.3 scope-token, as credentials/scope.ts. */
const SCOPE_TOKEN_RE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const MAX_NAME_LENGTH = 100;
const MAX_LIST = 64;
/** Longest rotation overlap: 30 days. */
export const MAX_SECRET_OVERLAP_MS = 30 * 24 * 60 * 60 * 1000;

export interface ClientSpec {
  clientId: string;
  name: string;
  type: string;
  grants: readonly string[];
  scopes: readonly string[];
  audiences: readonly string[];
  /** Confidential clients only; defaults to the client id. */
  service?: string | undefined;
}

/** The checked, normalised fields of a new client. */
export type CheckedClient = Pick<ClientRecord, 'clientId' | 'name' | 'type' | 'grants' | 'scopes' | 'audiences' | 'service'>;

/** Throws ClientRuleError unless `clientId` is a client id the registry may hold. */
export function checkClientId(clientId: string): void {
  if (clientId === FIRST_PARTY_CLIENT_ID || !CLIENT_ID_RE.test(clientId)) throw new ClientRuleError(`${new ClientIdRefusedError(clientId).message}.`);
}

const unique = (items: readonly string[]): string[] => [...new Set(items)];
const quoted = (items: readonly string[]): string => items.map((s) => JSON.stringify(s)).join(', ');

/**
 * Checks a new client against the rules; `grantableScopes` are the scopes tokens may carry
 * (config `tokens.defaultScopes`). Throws ClientRuleError naming the first problem.
 */
export function checkClientSpec(spec: ClientSpec, grantableScopes: readonly string[]): CheckedClient {
  checkClientId(spec.clientId);
  const name = spec.name.normalize('NFC').trim();
  if (name === '' || name.length > MAX_NAME_LENGTH || /\p{Cc}/u.test(name)) {
    throw new ClientRuleError(`The client's name is what people see when they approve it: 1 to ${MAX_NAME_LENGTH} characters, no control characters.`);
  }
  if (spec.type !== 'public' && spec.type !== 'confidential') {
    throw new ClientRuleError(`The client type must be "public" (a TV or CLI app, no secret) or "confidential" (a service, with a secret), got ${JSON.stringify(spec.type)}.`);
  }
  const type: ClientType = spec.type;

  const grants = unique(spec.grants);
  if (grants.length === 0) throw new ClientRuleError(`Name at least one grant: ${CLIENT_GRANTS.join(', ')}.`);
  for (const g of grants) {
    if (!(CLIENT_GRANTS as readonly string[]).includes(g)) {
      const near = nearest(g, CLIENT_GRANTS);
      throw new ClientRuleError(`Unknown grant ${JSON.stringify(g)}${near !== undefined ? ` (did you mean "${near}"?)` : ''}; the grants are ${CLIENT_GRANTS.join(', ')}.`);
    }
  }
  const checkedGrants = grants as ClientGrant[];
  if (type === 'public') {
    const refused = checkedGrants.filter((g) => CONFIDENTIAL_ONLY_GRANTS.includes(g));
    if (refused.length > 0) {
      throw new ClientRuleError(
        `A public client has no secret, so it cannot use ${refused.join(' or ')}: register the service as --type confidential, or leave ${refused.length > 1 ? 'those grants' : 'that grant'} out.`,
      );
    }
  }
  if (checkedGrants.includes('refresh_token') && !checkedGrants.includes('device_code')) {
    throw new ClientRuleError('refresh_token is only given with device_code (client credentials and token exchange issue no refresh token): add device_code or leave refresh_token out.');
  }

  const scopes = unique(spec.scopes);
  if (scopes.length === 0) throw new ClientRuleError(`Name the scopes this client's tokens may carry (one or more of ${grantableScopes.join(', ') || 'tokens.defaultScopes'}).`);
  if (scopes.length > MAX_LIST) throw new ClientRuleError(`At most ${MAX_LIST} scopes.`);
  if (scopes.includes(ACCOUNT_SCOPE)) throw new ClientRuleError(`The "${ACCOUNT_SCOPE}" scope (the account endpoints) is never given to OAuth clients; leave it out.`);
  const badScope = scopes.find((s) => !SCOPE_TOKEN_RE.test(s));
  if (badScope !== undefined) throw new ClientRuleError(`${JSON.stringify(badScope)} is not a scope (printable characters, no spaces, quotes or backslashes).`);
  const outside = scopes.filter((s) => !grantableScopes.includes(s));
  if (outside.length > 0) {
    throw new ClientRuleError(`Not a scope tokens may carry: ${quoted(outside)}. Use scopes listed in the config key tokens.defaultScopes (now: ${grantableScopes.join(', ') || 'none'}), or add them there first.`);
  }

  const audiences = unique(spec.audiences);
  if (audiences.length > MAX_LIST) throw new ClientRuleError(`At most ${MAX_LIST} audiences.`);
  const hasExchange = checkedGrants.includes('token-exchange');
  if (audiences.length > 0 && !hasExchange) throw new ClientRuleError('Audiences are the services a client may call on a user\'s behalf (token exchange): add the token-exchange grant, or leave --audiences out.');
  if (hasExchange && audiences.length === 0) throw new ClientRuleError('The token-exchange grant needs --audiences: the services this client may call on a user\'s behalf.');
  for (const a of audiences) checkServiceName(a, 'audience');

  let service: string | null = null;
  if (type === 'confidential') {
    service = spec.service ?? spec.clientId;
    checkServiceName(service, spec.service === undefined ? 'service (the client id, by default)' : 'service');
  } else if (spec.service !== undefined) {
    throw new ClientRuleError('--service applies to confidential clients only (the service whose passports the client receives).');
  }
  return { clientId: spec.clientId, name, type, grants: checkedGrants, scopes, audiences, service };
}

function checkServiceName(name: string, what: string): void {
  if (!SERVICE_RE.test(name)) throw new ClientRuleError(`The ${what} ${JSON.stringify(name)} is not a service name: letters, digits, ".", "_" or "-", as routes' "service".`);
  if (name === AUTH_SERVICE) throw new ClientRuleError(`The ${what} cannot be "${AUTH_SERVICE}", the auth service's own name; ${what.startsWith('service') ? 'pass --service <name>' : 'leave it out'}.`);
}

/** A new secret and what the store keeps of it. */
function newSecret(now: number): { secret: string; record: { hash: string; createdAt: number; notAfter: null } } {
  const secret = generateClientSecret();
  return { secret, record: { hash: hashSecret(secret), createdAt: now, notAfter: null } };
}

/**
 * Registers a client. A confidential client gets a secret, returned here once (never stored,
 * never logged). Throws ClientRuleError (rules, id taken).
 */
export async function addClient(store: ClientStore, spec: ClientSpec, grantableScopes: readonly string[], now: number): Promise<{ client: ClientRecord; secret: string | null }> {
  const checked = checkClientSpec(spec, grantableScopes);
  const fresh = checked.type === 'confidential' ? newSecret(now) : null;
  const client: ClientRecord = { ...checked, secrets: fresh ? [fresh.record] : [], createdAt: now, updatedAt: now, lastUsedAt: null };
  try {
    await store.create(client);
  } catch (err) {
    if (err instanceof ClientIdTakenError) throw new ClientRuleError(`A client with id "${spec.clientId}" exists already: choose another id, or remove it first with "gatehouse clients remove ${spec.clientId}".`);
    if (err instanceof ClientIdRefusedError) throw new ClientRuleError(`${err.message}.`);
    throw err;
  }
  return { client, secret: fresh?.secret ?? null };
}

async function existing(store: ClientStore, clientId: string): Promise<ClientRecord> {
  checkClientId(clientId);
  const client = await store.get(clientId);
  if (client === null) throw new ClientRuleError(`No client "${clientId}". "gatehouse clients list" lists them.`);
  return client;
}

/** What `gatehouse clients update` may change; anything left undefined stays as it is. */
export interface ClientUpdate {
  name?: string | undefined;
  grants?: readonly string[] | undefined;
  scopes?: readonly string[] | undefined;
  audiences?: readonly string[] | undefined;
  /** Confidential clients only: the audience of the passports it receives. */
  service?: string | undefined;
}

/**
 * Changes a client: the result is checked by the same rules as a new client (`checkClientSpec`);
 * the id, the type and the secrets never change. Throws ClientRuleError (nothing to change, an
 * unknown id, a rule).
 */
export async function updateClient(store: ClientStore, clientId: string, update: ClientUpdate, grantableScopes: readonly string[], now: number): Promise<ClientRecord> {
  if (Object.values(update).every((v) => v === undefined)) {
    throw new ClientRuleError('Nothing to change: name at least one of --name, --grants, --scopes, --audiences, --service.');
  }
  const before = await existing(store, clientId);
  const checked = checkClientSpec(
    {
      clientId,
      name: update.name ?? before.name,
      type: before.type,
      grants: update.grants ?? before.grants,
      scopes: update.scopes ?? before.scopes,
      audiences: update.audiences ?? before.audiences,
      service: update.service ?? before.service ?? undefined,
    },
    grantableScopes,
  );
  const changes: ClientChanges = {};
  if (update.name !== undefined) changes.name = checked.name;
  if (update.grants !== undefined) changes.grants = checked.grants;
  if (update.scopes !== undefined) changes.scopes = checked.scopes;
  if (update.audiences !== undefined) changes.audiences = checked.audiences;
  if (update.service !== undefined || checked.service !== before.service) changes.service = checked.service;
  const client = await store.update(clientId, changes, now);
  if (client === null) throw new ClientRuleError(`No client "${clientId}". "gatehouse clients list" lists them.`);
  return client;
}

/**
 * A new secret for a confidential client; the current one stays valid for `overlapMs` (0: it
 * stops now), and an older one still in its overlap stops now. Returns the secret once.
 */
export async function rotateClientSecret(store: ClientStore, clientId: string, overlapMs: number, now: number): Promise<{ client: ClientRecord; secret: string; previousValidUntil: number | null }> {
  if (!Number.isSafeInteger(overlapMs) || overlapMs < 0 || overlapMs > MAX_SECRET_OVERLAP_MS) throw new ClientRuleError('The overlap must be from 0 to 30 days.');
  const before = await existing(store, clientId);
  if (before.type !== 'confidential') throw new ClientRuleError(`"${clientId}" is a public client: it has no secret to rotate.`);
  const fresh = newSecret(now);
  const client = await store.rotateSecret(clientId, fresh.record, now + overlapMs, now);
  if (client === null) throw new ClientRuleError(`No client "${clientId}". "gatehouse clients list" lists them.`);
  const previous = client.secrets.length > 1 ? client.secrets[0]! : null;
  return { client, secret: fresh.secret, previousValidUntil: previous?.notAfter ?? null };
}

/** Removes a client; throws ClientRuleError for the first-party client or an unknown id. */
export async function removeClient(store: ClientStore, clientId: string): Promise<void> {
  checkClientId(clientId);
  if (!(await store.remove(clientId))) throw new ClientRuleError(`No client "${clientId}". "gatehouse clients list" lists them.`);
}

/** Margin added to a removed client's revocation entry (clock skew, requests in flight; ms). */
const CLIENT_REVOCATION_LEEWAY_MS = 60_000;

/**
 * The revocation of a removed client (issue 14): gateways refuse every client-credentials token
 * of `clientId` and every user access token granted to it (device flow) issued at or before `at`
 * (also after a new client takes the id), kept as long as such a token can live. `at` is taken
 * after the removal, so no token minted before it escapes.
 */
export function clientRemoval(config: Pick<GatehouseConfig, 'tokens'>, clientId: string, at: number): { event: RevocationEvent; keepUntil: number } {
  const longest = Math.max(config.tokens.clientCredentialsTtlSec, config.tokens.accessTokenTtlSec) * 1000;
  return { event: { type: 'client', clientId, at }, keepUntil: at + longest + CLIENT_REVOCATION_LEEWAY_MS };
}

/**
 * Whether `presented` is a live secret of `client` at `now`: the right shape (prefix, checksum:
 * a typo fails before any hashing), then its SHA-256 compared in constant time with every
 * stored hash (all of them, whichever matches).
 */
export function verifyClientSecret(client: ClientRecord, presented: string, now: number): boolean {
  if (client.type !== 'confidential' || !isWellFormedClientSecret(presented)) return false;
  const hash = hashSecret(presented);
  let ok = false;
  for (const s of client.secrets) {
    const live = s.notAfter === null || s.notAfter > now;
    if (safeEqual(hash, s.hash) && live) ok = true;
  }
  return ok;
}
