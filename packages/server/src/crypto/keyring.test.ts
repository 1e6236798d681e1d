import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, type CryptoKey } from 'jose';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStores } from '../stores/sqlite/open-sqlite-stores.js';
import type { KeyRecord, KeyStore, Stores } from '../stores/types.js';
import { ManualClock } from '../util/clock.js';
import { openKeyring, rotateKeys } from './keyring.js';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-keyring-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const MIN = 60_000;
const AHEAD = 2 * MIN;
const LIFETIME = 15 * MIN;

async function signWith(ring: { signingKey(): { kid: string; privateKey: CryptoKey } }): Promise<string> {
  const { CompactSign } = await import('jose');
  const k = ring.signingKey();
  return new CompactSign(new TextEncoder().encode('hello')).setProtectedHeader({ alg: 'EdDSA', kid: k.kid }).sign(k.privateKey);
}

describe('keyring', () => {
  let stores: Stores;
  let clock: ManualClock;
  let masterKey: Uint8Array;
  let n = 0;
  beforeEach(async () => {
    clock = new ManualClock();
    masterKey = new Uint8Array(randomBytes(32));
    stores = await openSqliteStores({ file: join(root, `k${++n}.db`), clock });
  });
  afterEach(async () => {
    await stores.close();
  });

  it('creates one Ed25519 key on first open, kid = RFC 7638 thumbprint, private key only as a JWE', async () => {
    const ring = await openKeyring({ store: stores.keys, masterKey, clock });
    const [rec] = await stores.keys.list();
    expect(await stores.keys.list()).toHaveLength(1);
    expect(rec!.kid).toBe(await calculateJwkThumbprint(rec!.publicJwk as never, 'sha256'));
    expect(rec!.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String) });
    expect(decodeProtectedHeader(rec!.privateJwe)).toMatchObject({ alg: 'dir', enc: 'A256GCM', kid: rec!.kid });
    expect(rec!.privateJwe.split('.')).toHaveLength(5);
    expect(rec!.privateJwe).not.toContain('"d"');
    expect(ring.signingKey().kid).toBe(rec!.kid);
    expect(ring.jwks()).toEqual({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: rec!.publicJwk.x, kid: rec!.kid, alg: 'EdDSA', use: 'sig' }] });
    // What signingKey() signs, publicKey(kid) verifies.
    const jws = await signWith(ring);
    await expect(compactVerify(jws, ring.publicKey(rec!.kid)!)).resolves.toBeTruthy();
    ring.close();
  });

  it('reuses the stored key on the next open (restart) instead of making another', async () => {
    const a = await openKeyring({ store: stores.keys, masterKey, clock });
    const b = await openKeyring({ store: stores.keys, masterKey, clock });
    expect(b.signingKey().kid).toBe(a.signingKey().kid);
    expect(await stores.keys.list()).toHaveLength(1);
  });

  it('an instance whose clock reads a little earlier (it took "now" before the first key was committed) reuses that key', async () => {
    // Seen under load with three processes starting together on PostgreSQL: the later inserter
    // read `now` before the first key's activation time, found no signer at its `now`, and made a second key.
    const a = await openKeyring({ store: stores.keys, masterKey, clock: new ManualClock(clock.now() + 500) });
    const b = await openKeyring({ store: stores.keys, masterKey, clock });
    expect(b.signingKey().kid).toBe(a.signingKey().kid);
    expect(await stores.keys.list()).toHaveLength(1);
  });

  it('instances opening an empty store at once agree on one signing key, and only one is made', async () => {
    const rings = await Promise.all(Array.from({ length: 4 }, () => openKeyring({ store: stores.keys, masterKey, clock })));
    const kids = new Set(rings.map((r) => r.signingKey().kid));
    expect(kids.size).toBe(1);
    expect(await stores.keys.list()).toHaveLength(1);
    for (const r of rings) expect(r.jwks().keys).toHaveLength(1);
  });

  it('a wrong master key fails clearly, naming GATEHOUSE_MASTER_KEY, and adds no key', async () => {
    await openKeyring({ store: stores.keys, masterKey, clock });
    const wrong = new Uint8Array(randomBytes(32));
    await expect(openKeyring({ store: stores.keys, masterKey: wrong, clock })).rejects.toThrow(/cannot decrypt signing keys.*GATEHOUSE_MASTER_KEY/i);
    await expect(rotateKeys({ store: stores.keys, masterKey: wrong, clock, publishAheadMs: AHEAD, maxTokenLifetimeMs: LIFETIME })).rejects.toThrow(
      /GATEHOUSE_MASTER_KEY/,
    );
    // Also when every stored key is retired and a new one would be made.
    clock.advance(AHEAD + MIN);
    const [only] = await stores.keys.list();
    await stores.keys.retire(only!.kid, clock.now() - 1, clock.now() + LIFETIME);
    await expect(openKeyring({ store: stores.keys, masterKey: wrong, clock })).rejects.toThrow(/GATEHOUSE_MASTER_KEY/);
    expect(await stores.keys.list()).toHaveLength(1);
  });

  it('rotation: publishes the next key at once, switches signing at activatesAt, unpublishes the old key after the token lifetime', async () => {
    const ring = await openKeyring({ store: stores.keys, masterKey, clock });
    const oldKid = ring.signingKey().kid;
    const t0 = clock.now();
    const next = await rotateKeys({ store: stores.keys, masterKey, clock, publishAheadMs: AHEAD, maxTokenLifetimeMs: LIFETIME });
    expect(next.activatesAt).toBe(t0 + AHEAD);
    const old = (await stores.keys.list()).find((k) => k.kid === oldKid)!;
    expect(old).toMatchObject({ retiresAt: t0 + AHEAD, expiresAt: t0 + AHEAD + LIFETIME });

    await ring.reload();
    // Published before it signs.
    expect(ring.jwks().keys.map((k) => k.kid).sort()).toEqual([oldKid, next.kid].sort());
    expect(ring.signingKey().kid).toBe(oldKid);
    expect(ring.publicKey(next.kid)).toBeDefined();

    clock.set(t0 + AHEAD - 1);
    expect(ring.signingKey().kid).toBe(oldKid);
    clock.set(t0 + AHEAD); // no reload needed: the boundary is known
    expect(ring.signingKey().kid).toBe(next.kid);
    expect(ring.jwks().keys).toHaveLength(2);
    expect(ring.publicKey(oldKid)).toBeDefined();

    clock.set(t0 + AHEAD + LIFETIME);
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([next.kid]);
    expect(ring.publicKey(oldKid)).toBeUndefined();
    // A clock that steps back is honoured too.
    clock.set(t0);
    expect(ring.signingKey().kid).toBe(oldKid);
  });

  it('a second rotation before the first activates retires the pending key too, so nothing stays published forever', async () => {
    await openKeyring({ store: stores.keys, masterKey, clock });
    const t0 = clock.now();
    const k1 = await rotateKeys({ store: stores.keys, masterKey, clock, publishAheadMs: AHEAD, maxTokenLifetimeMs: LIFETIME });
    clock.advance(MIN);
    const k2 = await rotateKeys({ store: stores.keys, masterKey, clock, publishAheadMs: AHEAD, maxTokenLifetimeMs: LIFETIME });
    const recs = await stores.keys.list();
    expect(recs.filter((r) => r.retiresAt === null).map((r) => r.kid)).toEqual([k2.kid]);
    expect(recs.find((r) => r.kid === k1.kid)).toMatchObject({ retiresAt: t0 + MIN + AHEAD });
    const ring = await openKeyring({ store: stores.keys, masterKey, clock });
    clock.set(t0 + AHEAD); // k1 signs between its activation and k2's
    expect(ring.signingKey().kid).toBe(k1.kid);
    clock.set(t0 + MIN + AHEAD);
    expect(ring.signingKey().kid).toBe(k2.kid);
  });

  it('rotation deletes keys whose publication has ended', async () => {
    await openKeyring({ store: stores.keys, masterKey, clock });
    await rotateKeys({ store: stores.keys, masterKey, clock, publishAheadMs: AHEAD, maxTokenLifetimeMs: LIFETIME });
    clock.advance(AHEAD + LIFETIME);
    await rotateKeys({ store: stores.keys, masterKey, clock, publishAheadMs: AHEAD, maxTokenLifetimeMs: LIFETIME });
    expect(await stores.keys.list()).toHaveLength(2);
  });

  it('reload picks up a rotation made by another process', async () => {
    const a = await openKeyring({ store: stores.keys, masterKey, clock });
    const b = await openKeyring({ store: stores.keys, masterKey, clock });
    const next = await rotateKeys({ store: stores.keys, masterKey, clock, publishAheadMs: AHEAD, maxTokenLifetimeMs: LIFETIME });
    expect(a.publicKey(next.kid)).toBeUndefined();
    await a.reload();
    await b.reload();
    clock.advance(AHEAD);
    expect(a.signingKey().kid).toBe(next.kid);
    expect(b.signingKey().kid).toBe(next.kid);
  });

  it('picks deterministically among active keys: newest activatesAt, then smallest kid', async () => {
    const inner = await openKeyring({ store: stores.keys, masterKey, clock });
    const [first] = await stores.keys.list();
    // Another instance inserted a key with the same activation time at the same moment.
    const twin = await rotateKeys({ store: memoryKeyStore([]), masterKey, clock, publishAheadMs: 0, maxTokenLifetimeMs: LIFETIME });
    await stores.keys.insert({ ...twin, activatesAt: first!.activatesAt });
    await inner.reload();
    expect(inner.signingKey().kid).toBe([first!.kid, twin.kid].sort()[0]);
  });

  it('publicKey does not resolve prototype names or unknown kids', async () => {
    const ring = await openKeyring({ store: stores.keys, masterKey, clock });
    for (const kid of ['__proto__', 'constructor', 'toString', '../../etc/passwd', '']) expect(ring.publicKey(kid)).toBeUndefined();
  });

  it('signingKey is cheap on the hot path: no store call', async () => {
    let lists = 0;
    const keys = stores.keys;
    const counting: KeyStore = {
      list: () => (lists++, keys.list()),
      insert: (k) => keys.insert(k),
      insertIfNoSigner: (k, now) => keys.insertIfNoSigner(k, now),
      retire: (kid, r, e) => keys.retire(kid, r, e),
      deleteExpired: (now) => keys.deleteExpired(now),
    };
    const ring = await openKeyring({ store: counting, masterKey, clock });
    const before = lists;
    const t = performance.now();
    for (let i = 0; i < 100_000; i++) ring.signingKey();
    expect(performance.now() - t).toBeLessThan(500);
    expect(lists).toBe(before);
  });
});

function memoryKeyStore(records: KeyRecord[]): KeyStore {
  return {
    list: async () => [...records],
    insert: async (k) => void records.push(k),
    insertIfNoSigner: async (k) => (records.push(k), true),
    retire: async () => {},
    deleteExpired: async () => 0,
  };
}
