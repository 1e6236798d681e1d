import { CompactEncrypt, calculateJwkThumbprint, compactDecrypt, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { StoreUnavailableError } from '../errors/index.js';
import type { KeyRecord, KeyStore } from '../stores/types.js';
import type { Clock } from '../util/clock.js';
import { activeSigningKey } from './jwt.js';
import type { ActiveSigningKey, Keyring } from './keyring-types.js';

const ALG = 'EdDSA';

/** Running gateways re-read keys this often (start-all), so a new key is known before it signs. */
export const KEY_PUBLISH_AHEAD_MS = 2 * 60_000;
/** Longest-lived token a key signs (access token 10 min) plus clock leeway. */
export const MAX_TOKEN_LIFETIME_MS = 15 * 60_000;

/** Where a key stands at `now`: `next` (published, not signing yet), `active`, or `retired` (published until its tokens expire). */
export function keyState(k: Pick<KeyRecord, 'activatesAt' | 'retiresAt'>, now: number): 'next' | 'active' | 'retired' {
  if (k.activatesAt > now) return 'next';
  if (k.retiresAt !== null && k.retiresAt <= now) return 'retired';
  return 'active';
}
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface LoadedKey {
  record: KeyRecord;
  publicKey: CryptoKey;
  /** Only for keys that may still sign (not retired). */
  signing: ActiveSigningKey | null;
  publicJwk: JWK;
}

export interface KeyringOptions {
  store: KeyStore;
  /** 32-byte key from `loadOrCreateMasterKey`. */
  masterKey: Uint8Array;
  clock: Clock;
}

function decryptError(cause?: unknown): Error {
  return new Error(
    'Cannot decrypt signing keys: the master key (GATEHOUSE_MASTER_KEY, or master.key in the data directory) is not the one they were encrypted with.',
    cause === undefined ? undefined : { cause },
  );
}

/**
 * How far before `now` a store's first key counts as active. Nothing was signed before it
 * existed, so the earlier activation time permits nothing; it only absorbs the gap between the
 * moments instances starting together read their clocks (or their clocks' skew).
 */
const FIRST_KEY_BACKDATE_MS = 5 * 60_000;

/** Generates an Ed25519 key; the private JWK is stored only as a compact JWE (dir, A256GCM). */
async function newKeyRecord(masterKey: Uint8Array, now: number, activatesAt: number): Promise<KeyRecord> {
  const { publicKey, privateKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
  const pub = await exportJWK(publicKey);
  const publicJwk: JWK = { kty: pub.kty, crv: pub.crv, x: pub.x };
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const priv = await exportJWK(privateKey);
  // The kid in the protected header is authenticated, binding the ciphertext to this key id.
  const privateJwe = await new CompactEncrypt(encoder.encode(JSON.stringify(priv)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid, cty: 'jwk+json' })
    .encrypt(masterKey);
  return { kid, alg: ALG, publicJwk: { ...publicJwk }, privateJwe, createdAt: now, activatesAt, retiresAt: null, expiresAt: null };
}

async function loadKey(record: KeyRecord, masterKey: Uint8Array, now: number): Promise<LoadedKey> {
  const jwk = record.publicJwk as JWK;
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error(`signing key ${record.kid} is not an Ed25519 key`);
  const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: record.kid, alg: ALG, use: 'sig' };
  const publicKey = (await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, ALG)) as CryptoKey;
  let signing: ActiveSigningKey | null = null;
  if (record.retiresAt === null || record.retiresAt > now) {
    let plaintext: Uint8Array;
    let headerKid: unknown;
    try {
      const r = await compactDecrypt(record.privateJwe, masterKey, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
      plaintext = r.plaintext;
      headerKid = r.protectedHeader.kid;
    } catch (err) {
      throw decryptError(err);
    }
    const priv = JSON.parse(decoder.decode(plaintext)) as JWK;
    if (headerKid !== record.kid || priv.x !== jwk.x) throw new Error(`signing key ${record.kid} does not match its stored public key`);
    signing = activeSigningKey(record.kid, (await importJWK(priv, ALG)) as CryptoKey);
  }
  return { record, publicKey, signing, publicJwk };
}

/**
 * Throws (the same error as start would) when `masterKey` cannot decrypt the private keys among
 * `records` that may still sign: `gatehouse restore` checks a backup against this data directory.
 */
export async function checkMasterKeyOpens(records: KeyRecord[], masterKey: Uint8Array, now: number): Promise<void> {
  for (const r of records) await loadKey(r, masterKey, now);
}

function signsAt(r: KeyRecord, now: number): boolean {
  return r.activatesAt <= now && (r.retiresAt === null || r.retiresAt > now);
}

function publishedAt(r: KeyRecord, now: number): boolean {
  return r.expiresAt === null || r.expiresAt > now;
}

/** The deterministic choice every process makes: newest activatesAt, then smallest kid. */
function pickSigner(records: KeyRecord[], now: number): KeyRecord | undefined {
  let best: KeyRecord | undefined;
  for (const r of records) {
    if (!signsAt(r, now)) continue;
    if (!best || r.activatesAt > best.activatesAt || (r.activatesAt === best.activatesAt && r.kid < best.kid)) best = r;
  }
  return best;
}

/** What the keyring answers between two boundary times (an activation, retirement or expiry). */
interface View {
  from: number;
  until: number;
  signer: ActiveSigningKey | undefined;
  jwks: { keys: JWK[] };
  publicKeys: Map<string, CryptoKey>;
}

class StoreKeyring implements Keyring {
  private keys = new Map<string, LoadedKey>();
  private view: View | undefined;

  constructor(private readonly opts: KeyringOptions) {}

  async load(records: KeyRecord[]): Promise<void> {
    const now = this.opts.clock.now();
    const next = new Map<string, LoadedKey>();
    for (const r of records) {
      if (!publishedAt(r, now)) continue;
      const known = this.keys.get(r.kid);
      // Reuse what was decrypted already unless its schedule changed.
      const same = known && known.record.retiresAt === r.retiresAt && known.record.expiresAt === r.expiresAt && known.record.activatesAt === r.activatesAt;
      next.set(r.kid, same ? known : await loadKey(r, this.opts.masterKey, now));
    }
    this.keys = next;
    this.view = undefined;
  }

  private current(): View {
    const now = this.opts.clock.now();
    const v = this.view;
    if (v && now >= v.from && now < v.until) return v;
    return (this.view = this.compute(now));
  }

  private compute(now: number): View {
    let from = -Infinity;
    let until = Infinity;
    const records = [...this.keys.values()].map((k) => k.record);
    for (const r of records) {
      for (const t of [r.activatesAt, r.retiresAt, r.expiresAt]) {
        if (t === null) continue;
        if (t > now) until = Math.min(until, t);
        else from = Math.max(from, t);
      }
    }
    const picked = pickSigner(records, now);
    const published = [...this.keys.values()].filter((k) => publishedAt(k.record, now));
    return {
      from,
      until,
      signer: picked ? (this.keys.get(picked.kid)?.signing ?? undefined) : undefined,
      jwks: { keys: published.map((k) => ({ ...k.publicJwk })) },
      publicKeys: new Map(published.map((k) => [k.record.kid, k.publicKey])),
    };
  }

  hasSignerNow(): boolean {
    return this.current().signer !== undefined;
  }

  signingKey(): ActiveSigningKey {
    const signer = this.current().signer;
    // Only when every key is retired with no successor; `gatehouse keys rotate` fixes it.
    if (!signer) throw new StoreUnavailableError('signing keys');
    return signer;
  }

  jwks(): { keys: JWK[] } {
    const { keys } = this.current().jwks;
    return { keys: keys.map((k) => ({ ...k })) };
  }

  publicKey(kid: string): CryptoKey | undefined {
    return this.current().publicKeys.get(kid);
  }

  async reload(): Promise<void> {
    await this.load(await this.opts.store.list());
  }

  async rotate(): Promise<KeyRecord> {
    const record = await rotateKeys({ ...this.opts, publishAheadMs: KEY_PUBLISH_AHEAD_MS, maxTokenLifetimeMs: MAX_TOKEN_LIFETIME_MS });
    await this.reload();
    return record;
  }

  close(): void {
    this.keys.clear();
    this.view = undefined;
  }
}

/**
 * Opens the keyring: decrypts the stored keys once and keeps them in memory. When no key can
 * sign now, creates one (atomically, so instances starting together agree on it).
 */
export async function openKeyring(opts: KeyringOptions): Promise<Keyring & { close(): void }> {
  const ring = new StoreKeyring(opts);
  await ring.reload();
  for (let attempt = 0; !ring.hasSignerNow(); attempt++) {
    if (attempt === 3) throw new Error('No signing key can sign now, and creating one failed.');
    const now = opts.clock.now();
    // Never add a key under a wrong master key next to keys made with the right one.
    const newest = (await opts.store.list()).at(-1);
    if (newest) await loadKey({ ...newest, retiresAt: null }, opts.masterKey, now);
    // Atomic: of several instances starting together on an empty store, one inserts and
    // the others find its key when they re-read. Its activation is back-dated by
    // FIRST_KEY_BACKDATE_MS: an instance that read its clock a moment before that key was
    // committed must still see it as signing at its `now`, or it would add a second first key.
    await opts.store.insertIfNoSigner(await newKeyRecord(opts.masterKey, now, now - FIRST_KEY_BACKDATE_MS), now);
    await ring.reload();
  }
  return ring;
}

/**
 * Rotation: publishes a new key now that starts signing at now + publishAheadMs, and schedules
 * every key without a retirement date to retire then and stay published for maxTokenLifetimeMs
 * more, so tokens it signed keep verifying until they expire.
 */
export async function rotateKeys(opts: KeyringOptions & { publishAheadMs: number; maxTokenLifetimeMs: number }): Promise<KeyRecord> {
  const now = opts.clock.now();
  const activatesAt = now + opts.publishAheadMs;
  const existing = await opts.store.list();
  // Refuse to rotate under a wrong master key: that would strand the running keys.
  for (const r of existing) if (signsAt(r, now)) await loadKey(r, opts.masterKey, now);
  const record = await newKeyRecord(opts.masterKey, now, activatesAt);
  await opts.store.insert(record);
  for (const r of existing) {
    if (r.retiresAt === null) await opts.store.retire(r.kid, activatesAt, activatesAt + opts.maxTokenLifetimeMs);
  }
  await opts.store.deleteExpired(now);
  return record;
}
