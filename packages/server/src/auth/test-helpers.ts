/**
 * Test harness for the auth service: real SQLite stores in a temp dir, a ManualClock, an
 * in-process revocation feed, a real keyring, and passports minted like the gateway mints them.
 * No vitest import here, so the file also compiles into the package build harmlessly.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { UserPassportClaims } from '@gatehouse/sdk';
import { DEFAULTS } from '../config/defaults.js';
import { issuerOf } from '../config/issuer.js';
import type { GatehouseConfig } from '../config/types.js';
import type { Deps } from '../context.js';
import { signJwt } from '../crypto/jwt.js';
import { openKeyring } from '../crypto/keyring.js';
import { deriveRefreshRotationKey } from '../crypto/rotation-key.js';
import { randomId } from '../crypto/secrets.js';
import { InProcessRevocationFeed } from '../stores/revocations/in-process-feed.js';
import { openSqliteStores } from '../stores/sqlite/open-sqlite-stores.js';
import type { RevocationEvent } from '../stores/types.js';
import { ManualClock } from '../util/clock.js';
import { createLogger, type Logger } from '../util/logger.js';
import { createAuthContext, type AuthContext } from './auth-context.js';
import { buildAuthService } from './auth-service.js';
import { deriveChallengeKey, deriveDeviceCookieKey, deriveFederationTransactionKey, deriveMfaSecretKey, deriveAuditPseudonymKey } from './derived-keys.js';

export const STRONG_PASSWORD = 'vivid-otter-sings-42';

export interface AuthHarness {
  deps: Deps;
  /** The auth service's state: its one password hasher (`auth.hasher`), metrics, background audit. */
  auth: AuthContext;
  clock: ManualClock;
  app: FastifyInstance;
  /** Every revocation published on the feed since the harness started. */
  events: RevocationEvent[];
  /** Every response body `app.inject` returned (to check that none leaks internals). */
  bodies: string[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** The public URL; default http://127.0.0.1:8080. `null` leaves it unset (the caller sets it once it listens). */
  publicUrl?: string | null;
  /** Adjusts the configuration (a copy of the defaults) before anything is built. */
  config?: (config: GatehouseConfig) => void;
  /** A logger to observe security events (default: silent). */
  logger?: Logger;
  /**
   * 'relaxed' (default): no per-IP limits (nor per-IP share of the hashing queue) and no automatic sign-up challenge, so suites that
   * sign up many users from one injected address test what they test. The per-account sign-in
   * lock stays on. 'defaults': every abuse limit as shipped.
   */
  abuseLimits?: 'relaxed' | 'defaults';
}

/**
 * Per-address sign-in, sign-up and forgotten-password limits and the automatic sign-up challenge off: tests that
 * sign many users in from one loopback address, where those limits are not under test.
 */
export function relaxAbuseLimits(config: GatehouseConfig): void {
  config.signin.perIpPerMinute = 0;
  config.signup.perIpPerMinute = 0;
  config.signup.autoChallenge.perIpPerMinute = 0;
  config.signup.autoChallenge.globalPerMinute = 0;
  config.recovery.forgotPerIpPerMinute = 0;
}

export async function createTestDeps(options: HarnessOptions = {}): Promise<{ deps: Deps; clock: ManualClock; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-auth-'));
  const clock = new ManualClock();
  const config = structuredClone(DEFAULTS);
  if (options.publicUrl !== null) config.publicUrl = options.publicUrl ?? 'http://127.0.0.1:8080';
  config.logLevel = 'silent';
  config.dataDir = dir;
  if (options.abuseLimits !== 'defaults') {
    relaxAbuseLimits(config);
    config.password.maxQueuedHashesPerIp = 0;
  }
  options.config?.(config);
  const stores = await openSqliteStores({ file: join(dir, 'gatehouse.db'), clock });
  const masterKey = new Uint8Array(randomBytes(32));
  const keyring = await openKeyring({ store: stores.keys, masterKey, clock });
  const feed = new InProcessRevocationFeed();
  const deps: Deps = {
    config,
    clock,
    logger: options.logger ?? createLogger('silent'),
    stores,
    feed,
    keyring,
    refreshRotationKey: deriveRefreshRotationKey(masterKey),
    deviceCookieKey: deriveDeviceCookieKey(masterKey),
    challengeKey: deriveChallengeKey(masterKey),
    federationKey: deriveFederationTransactionKey(masterKey),
    mfaKey: deriveMfaSecretKey(masterKey),
    auditPseudonymKey: deriveAuditPseudonymKey(masterKey),
  };
  return {
    deps,
    clock,
    async close() {
      keyring.close();
      await feed.close();
      await stores.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function createAuthHarness(options: HarnessOptions = {}): Promise<AuthHarness> {
  const { deps, clock, close } = await createTestDeps(options);
  const events: RevocationEvent[] = [];
  const unsubscribe = deps.feed.subscribe((e) => events.push(e));
  const auth = createAuthContext(deps);
  const app = await buildAuthService(deps, auth);
  const bodies: string[] = [];
  // Record every injected response (promise form, the only one the tests use).
  const inject = app.inject.bind(app) as (opts: InjectOptions) => Promise<LightMyRequestResponse>;
  (app as unknown as { inject: typeof inject }).inject = async (opts) => {
    const res = await inject(opts);
    bodies.push(res.body);
    return res;
  };
  return {
    deps,
    auth,
    clock,
    app,
    events,
    bodies,
    async close() {
      unsubscribe();
      await app.close();
      await close();
    },
  };
}

export interface PassportOptions {
  aud?: string;
  /** Lifetime in seconds from iat (negative: already expired). */
  ttlSec?: number;
  /** Seconds to shift iat (e.g. -300 for an old passport). */
  iatOffsetSec?: number;
}

/** Mints a passport the way the gateway does (typ passport+jwt, aud auth, iss issuerOf(config)). */
export async function mintPassport(
  deps: Deps,
  claims: Pick<UserPassportClaims, 'sub' | 'username' | 'roles'> & Partial<UserPassportClaims>,
  options: PassportOptions = {},
): Promise<string> {
  const iat = Math.floor(deps.clock.now() / 1000) + (options.iatOffsetSec ?? 0);
  const full: UserPassportClaims = {
    iss: issuerOf(deps.config),
    aud: options.aud ?? 'auth',
    iat,
    exp: iat + (options.ttlSec ?? 60),
    jti: randomId(),
    auth: 'session',
    ...claims,
  };
  return signJwt({ ...full }, { typ: 'passport+jwt', key: deps.keyring.signingKey() });
}

export interface SignedIn {
  userId: string;
  username: string;
  roles: string[];
  sid: string;
  deviceId: string;
  csrfToken: string;
  /** The gatehouse_session cookie value. */
  secret: string;
  res: LightMyRequestResponse;
}

export async function signup(app: FastifyInstance, username: string, password = STRONG_PASSWORD): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/auth/signup', payload: { username, password } });
}

export async function signin(
  app: FastifyInstance,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/auth/signin', payload: body, headers });
}

/** Signs in and returns what a test needs to act as that session. Throws unless 200. */
export async function signinOk(app: FastifyInstance, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<SignedIn> {
  const res = await signin(app, body, headers);
  if (res.statusCode !== 200) throw new Error(`sign-in answered ${res.statusCode}: ${res.body}`);
  const b = res.json() as {
    user: { id: string; username: string; roles: string[] };
    session: { id: string; device_id: string };
    csrf_token: string;
  };
  const secret = res.cookies.find((c) => c.name === 'gatehouse_session')?.value ?? '';
  return {
    userId: b.user.id,
    username: b.user.username,
    roles: b.user.roles,
    sid: b.session.id,
    deviceId: b.session.device_id,
    csrfToken: b.csrf_token,
    secret,
    res,
  };
}

/** The passport the gateway would forward for this signed-in session. */
export function passportFor(deps: Deps, s: SignedIn, options: PassportOptions = {}): Promise<string> {
  return mintPassport(deps, { sub: s.userId, username: s.username, roles: s.roles, sid: s.sid, did: s.deviceId, auth: 'session' }, options);
}

/** Set-Cookie header lines of a response. */
export function setCookieLines(res: LightMyRequestResponse): string[] {
  const h = res.headers['set-cookie'];
  return h === undefined ? [] : Array.isArray(h) ? h : [String(h)];
}

export function setCookieLine(res: LightMyRequestResponse, name: string): string | undefined {
  return setCookieLines(res).find((l) => l.startsWith(`${name}=`));
}

/** Library names and stack traces that must never reach a client. */
export const INTERNALS_RE = /stack|fastify|argon2|kysely|sqlite|FST_ERR|node_modules|at .+\.[jt]s:\d+/i;

/** The recorded bodies that leak internals (should be empty). */
export function leakingBodies(h: AuthHarness): string[] {
  return h.bodies.filter((b) => INTERNALS_RE.test(b));
}
