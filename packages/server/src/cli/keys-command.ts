import type { GatehouseConfig } from '../config/types.js';
import { keyState, KEY_PUBLISH_AHEAD_MS, MAX_TOKEN_LIFETIME_MS } from '../crypto/keyring.js';
import { openDeps } from '../start/open-deps.js';
import { createLogger } from '../util/logger.js';
import { nearest } from '../util/nearest.js';

export { KEY_PUBLISH_AHEAD_MS, MAX_TOKEN_LIFETIME_MS };

const STATE_TEXT = { next: 'next (published, not signing yet)', retired: 'retired (published until its tokens expire)', active: 'active' } as const;

function stateOf(k: { activatesAt: number; retiresAt: number | null }, now: number): string {
  return STATE_TEXT[keyState(k, now)];
}

export async function runKeys(config: GatehouseConfig, args: string[]): Promise<number> {
  const [sub] = args;
  if ((sub !== 'list' && sub !== 'rotate') || args.length !== 1) {
    const near = sub !== undefined && sub !== 'list' && sub !== 'rotate' ? nearest(sub, ['list', 'rotate']) : undefined;
    process.stderr.write(`${near !== undefined ? `gatehouse: unknown keys command "${sub}" (did you mean "${near}"?). ` : ''}Usage: gatehouse keys list | keys rotate\n`);
    return 2;
  }
  const opened = await openDeps(config, { logger: createLogger('silent'), redis: false });
  try {
    const { deps } = opened;
    if (sub === 'rotate') {
      // The same rotation as POST /auth/admin/keys/rotate (Keyring.rotate), on the keyring openDeps opened.
      await deps.keyring.rotate();
      process.stdout.write(`Rotated. The new key is published now and signs from ${new Date(deps.clock.now() + KEY_PUBLISH_AHEAD_MS).toISOString()}.\n`);
    }
    const now = deps.clock.now();
    for (const k of await deps.stores.keys.list()) {
      process.stdout.write(
        `${k.kid}  ${k.alg}  ${stateOf(k, now)}  created ${new Date(k.createdAt).toISOString()}${k.expiresAt ? `  unpublished after ${new Date(k.expiresAt).toISOString()}` : ''}\n`,
      );
    }
    return 0;
  } finally {
    await opened.close();
  }
}
