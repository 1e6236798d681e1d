import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatehouseConfig } from '../config/types.js';
import { startPendingReplay } from '../auth/pending-revocations.js';
import type { Deps } from '../context.js';
import { logStoreFailure } from '../stores/health/outage-log.js';
import type { Logger } from '../util/logger.js';

const HOUR = 3600_000;
/** Must stay well below KEY_PUBLISH_AHEAD_MS of `keys rotate`. */
export const KEY_RELOAD_MS = 30_000;

/**
 * The issuer split roles use when neither `publicUrl` nor `passport.issuer` is set: every
 * gateway and auth instance must agree on `iss` (access tokens are minted by auth and checked by
 * the gateways; passports the other way round), and each gateway's own URL differs.
 */
export const SPLIT_ROLE_ISSUER = 'urn:gatehouse';

/** Gives split roles a shared issuer when none is configured (see SPLIT_ROLE_ISSUER). */
export function shareIssuer(config: GatehouseConfig, logger: Logger): void {
  if (config.publicUrl !== null || config.passport.issuer !== null) return;
  config.passport.issuer = SPLIT_ROLE_ISSUER;
  logger.warn(
    { issuer: SPLIT_ROLE_ISSUER },
    'GATEHOUSE_PUBLIC_URL is unset: tokens and passports carry a fixed issuer so every instance agrees; set GATEHOUSE_PUBLIC_URL (the public URL in front of the gateways) on every instance',
  );
}

export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Listens, turning EADDRINUSE into a message that says how to pick another port. */
export function listen(server: Server, port: number, host: string, portSetting = 'GATEHOUSE_PORT'): Promise<AddressInfo> {
  return new Promise((resolveListen, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new Error(`Port ${port} on ${host} is already in use. Stop the other program, or pick another port with ${portSetting} (0 picks a free one).`));
      } else reject(err);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolveListen(server.address() as AddressInfo);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}

/** Shutdown steps, run in reverse order of registration; a failing step does not stop the others. */
export class Cleanups {
  private readonly steps: Array<() => Promise<void> | void> = [];
  constructor(private readonly logger: Logger) {}
  push(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }
  readonly close = async (): Promise<void> => {
    for (const fn of this.steps.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        this.logger.warn({ err }, 'error while shutting down');
      }
    }
  };
}

/**
 * Background work of every role: housekeeping (expired sessions, keys, revocation records and device codes;
 * idempotent, so several instances may run it) and re-reading signing keys, so a key rotated by
 * `gatehouse keys rotate` (another process) is known well before it signs. Never on a request path.
 */
export function startBackground(deps: Deps, cleanups: Cleanups, keyReloadMs = KEY_RELOAD_MS): void {
  const { clock, logger } = deps;
  const sweep = async () => {
    const now = clock.now();
    try {
      await deps.stores.sessions.deleteExpired(now);
      await deps.stores.keys.deleteExpired(now);
      await deps.stores.revocations.deleteExpired(now);
      // Kept an hour past expiry, so a late poll still hears expired_token rather than invalid_grant.
      await deps.stores.deviceCodes.deleteExpired(now - HOUR);
      // WebAuthn challenges live minutes; a used or expired one is refused by its row either way.
      await deps.stores.webauthn.deleteExpiredChallenges(now);
      // Email links (issue 18): an expired one is refused by its row either way.
      await deps.stores.emails.deleteExpiredTokens(now);
    } catch (err) {
      logStoreFailure(logger, err, 'housekeeping failed; will retry');
    }
  };
  const timer = setInterval(() => void sweep(), HOUR);
  timer.unref();
  cleanups.push(() => clearInterval(timer));
  void sweep();

  // Revocations taken while PostgreSQL was away: whichever instance sees it back applies them.
  cleanups.push(startPendingReplay(deps));

  const keyTimer = setInterval(() => {
    deps.keyring.reload().catch((err: unknown) => logStoreFailure(logger, err, 'could not re-read signing keys; keeping the ones in memory'));
  }, keyReloadMs);
  keyTimer.unref();
  cleanups.push(() => clearInterval(keyTimer));
}
