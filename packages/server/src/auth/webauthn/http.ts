import type { FastifyRequest } from 'fastify';
import type { Deps } from '../../context.js';
import { GatehouseError } from '../../errors/index.js';
import { relyingPartyOf } from './relying-party.js';

const B64URL = { type: 'string', minLength: 1, maxLength: 16384, pattern: '^[A-Za-z0-9_-]*={0,2}$' } as const;

/**
 * A PublicKeyCredential as JSON (what @simplewebauthn/browser's startRegistration /
 * startAuthentication resolve to). The inner objects take members a later browser may add;
 * the library checks what it reads.
 */
export const PUBLIC_KEY_CREDENTIAL_SCHEMA = {
  type: 'object',
  required: ['id', 'rawId', 'type', 'response'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 1400 },
    rawId: { type: 'string', minLength: 1, maxLength: 1400 },
    type: { type: 'string', enum: ['public-key'] },
    authenticatorAttachment: { type: 'string', maxLength: 64 },
    clientExtensionResults: { type: 'object' },
    response: {
      type: 'object',
      required: ['clientDataJSON'],
      properties: {
        clientDataJSON: B64URL,
        attestationObject: { ...B64URL, maxLength: 65536 },
        authenticatorData: B64URL,
        signature: B64URL,
        userHandle: { type: 'string', maxLength: 1024 },
        publicKey: B64URL,
        publicKeyAlgorithm: { type: 'integer' },
        transports: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 32 } },
      },
    },
  },
} as const;

/**
 * Refuses a ceremony begun at an address where the browser cannot finish it: with a loopback
 * public URL the RP id is `localhost`, so a page opened at http://127.0.0.1:<port> (the default
 * address) is told to open http://localhost:<port> instead of failing inside the browser.
 */
export function checkCeremonyOrigin(deps: Deps, request: FastifyRequest): void {
  const party = relyingPartyOf(deps.config);
  if (!party.ok) throw new GatehouseError('passkeys_unavailable', { detail: party.detail });
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || origin === party.origin) return;
  let host: string;
  try {
    host = new URL(origin).hostname;
  } catch {
    return;
  }
  if (party.id === 'localhost' && (host === '127.0.0.1' || host === '[::1]')) {
    throw new GatehouseError('passkeys_unavailable', { detail: `Passkeys work at ${party.origin}, not at an IP address: open ${party.origin}.` });
  }
}
