import { isIP } from 'node:net';
import type { GatehouseConfig } from '../../config/types.js';

/** The WebAuthn relying party this gateway is, from its public URL. */
export type RelyingParty =
  | { readonly ok: true; readonly id: string; readonly name: string; readonly origin: string }
  | { readonly ok: false; readonly detail: string };

const LOOPBACK_IPS = new Set(['127.0.0.1', '[::1]']);
const RP_NAME = 'Gatehouse';

/**
 * The relying-party id and the one origin assertions must come from, both from `publicUrl`.
 * An RP id must be a domain: browsers refuse an IP address, and allow `localhost` (a secure
 * context over plain http). So:
 * - a domain (`https://auth.example.com`): RP id `auth.example.com`, origin the public URL's;
 * - a loopback public URL (the default `http://127.0.0.1:<port>`, or `localhost`): RP id
 *   `localhost`, origin `http://localhost:<port>`; at `http://127.0.0.1:<port>` the pages say
 *   to open `http://localhost:<port>` (the browser would refuse the ceremony there);
 * - any other IP address: passkeys are unavailable (set `publicUrl` to a domain name).
 */
export function relyingPartyOf(config: GatehouseConfig): RelyingParty {
  if (!config.publicUrl) return { ok: false, detail: 'Passkeys need the public URL (publicUrl).' };
  const url = new URL(config.publicUrl);
  const host = url.hostname;
  if (host === 'localhost' || LOOPBACK_IPS.has(host)) {
    return { ok: true, id: 'localhost', name: RP_NAME, origin: `${url.protocol}//localhost${url.port ? `:${url.port}` : ''}` };
  }
  if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) {
    return { ok: false, detail: `Passkeys need a domain name: a browser refuses them at an IP address (${host}). Set publicUrl (GATEHOUSE_PUBLIC_URL) to a domain name.` };
  }
  return { ok: true, id: host, name: RP_NAME, origin: url.origin };
}
