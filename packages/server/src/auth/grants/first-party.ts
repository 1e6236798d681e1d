import { ACCESS_TOKEN_CLIENT_ID } from '../../credentials/access-token.js';
import { GatehouseError } from '../../errors/index.js';
import { BASIC_CHALLENGE, type TokenClient } from '../client-auth.js';

/** The password and refresh-token grants are the first-party client's (`gatehouse`, public, no secret) only. */
export function firstPartyOnly(client: TokenClient): void {
  if (client.kind === 'unauthenticated') {
    throw new GatehouseError('invalid_client', { detail: `Unknown client; omit client_id or send "${ACCESS_TOKEN_CLIENT_ID}".`, headers: { 'www-authenticate': BASIC_CHALLENGE } });
  }
  if (client.kind === 'confidential') throw new GatehouseError('unauthorized_client', { detail: 'This grant type is for the first-party client only.' });
}
