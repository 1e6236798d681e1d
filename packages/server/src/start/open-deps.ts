import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { GatehouseConfig } from '../config/types.js';
import { deriveChallengeKey, deriveDeviceCookieKey } from '../auth/derived-keys.js';
import type { Deps } from '../context.js';
import { openKeyring } from '../crypto/keyring.js';
import { loadOrCreateMasterKey } from '../crypto/master-key.js';
import { deriveRefreshRotationKey } from '../crypto/rotation-key.js';
import { InProcessRevocationFeed, openSqliteStores } from '../stores/index.js';
import { systemClock, type Clock } from '../util/clock.js';
import { createLogger, type Logger } from '../util/logger.js';

/** Opens the stores, master key, keyring and feed that every role and CLI command works on. */
export async function openDeps(
  config: GatehouseConfig,
  options: { logger?: Logger; clock?: Clock } = {},
): Promise<{ deps: Deps; close(): Promise<void> }> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);
  config.dataDir = resolve(config.dataDir);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const masterKey = await loadOrCreateMasterKey({ configured: config.masterKey, dataDir: config.dataDir, required: false });
  const stores = await openSqliteStores({ file: join(config.dataDir, 'gatehouse.db'), clock });
  try {
    const keyring = await openKeyring({ store: stores.keys, masterKey: masterKey.key, clock });
    const feed = new InProcessRevocationFeed();
    return {
      deps: {
        config,
        clock,
        logger,
        stores,
        feed,
        keyring,
        refreshRotationKey: deriveRefreshRotationKey(masterKey.key),
        deviceCookieKey: deriveDeviceCookieKey(masterKey.key),
        challengeKey: deriveChallengeKey(masterKey.key),
      },
      async close() {
        keyring.close();
        await feed.close();
        await stores.close();
      },
    };
  } catch (err) {
    await stores.close();
    throw err;
  }
}
