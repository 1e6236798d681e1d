import type { Deps } from '../context.js';
import { clientRemoval, removeClient } from '../credentials/clients.js';
import { recordAudit } from './audit.js';
import { publishRevocation } from './pending-revocations.js';
import { revokeSessions } from './sessions.js';

export interface ClientRemoved {
  /** Device sessions that were granted to the client and are now ended (ids only). */
  endedSessions: string[];
}

/**
 * `gatehouse clients remove <id>` (issue 14 §1): the client is gone everywhere, at once.
 *
 * 1. The client is deleted from the store: it gets no new token, its refresh tokens are refused
 *    (they name it) and its pending device codes go with it (foreign key).
 * 2. The revocation `{type: 'client', clientId, at}` is recorded and published: every gateway
 *    refuses the client's client-credentials tokens AND the user access tokens granted to it
 *    (device sessions, `client_id` = the client) issued up to `at`'s second.
 * 3. The device sessions granted to it are deleted, for every user (they leave the users'
 *    device lists, their refresh tokens with them), each with the usual session revocation, and
 *    a `session.removed` entry in the user's account activity saying why.
 *
 * Throws `ClientRuleError` (nothing done) for an unknown client.
 */
export async function removeClientEverywhere(deps: Deps, clientId: string): Promise<ClientRemoved> {
  await removeClient(deps.stores.clients, clientId);
  // Taken after the removal, so no token minted before it escapes.
  const { event, keepUntil } = clientRemoval(deps.config, clientId, deps.clock.now());
  await publishRevocation(deps, event, null, keepUntil);
  const ended = await deps.stores.sessions.deleteByClient(clientId);
  await revokeSessions(deps, ended.map((s) => s.id));
  for (const s of ended) {
    await recordAudit(deps, null, {
      type: 'session.removed',
      userId: s.userId,
      deviceId: s.deviceId,
      detail: { sid: s.id, removed_device_id: s.deviceId, ...(s.deviceName !== null ? { removed_device_name: s.deviceName } : {}), client_id: clientId, reason: 'client_removed' },
    });
  }
  return { endedSessions: ended.map((s) => s.id) };
}
