import { splitHost } from '../config/allowed-hosts.js';
import type { GatehouseConfig } from '../config/types.js';

/** Loopback names: with a loopback public URL each is allowed on any port. */
const LOOPBACK: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Bind addresses that listen on every interface: the names clients use are unknown. */
const EVERY_INTERFACE: ReadonlySet<string> = new Set(['0.0.0.0', '::', '']);

/**
 * Which `Host` a routed request may name (issue 11: Host header trust). Allowed: the public
 * URL's host and every `gateway.allowedHosts` entry (a name without a port also matches it on
 * ports 80 and 443), compared case-insensitively; when the public URL is a loopback one
 * (`npm start` without `GATEHOUSE_PUBLIC_URL` gets `http://127.0.0.1:<port>`), also `localhost`,
 * `127.0.0.1` and `[::1]` on any port. Everything else is refused with 421, which keeps DNS
 * rebinding and Host-spoofed links away from the routes. Not enforced when `allowedHosts`
 * holds `"*"`, nor when the gateway listens on every interface (`0.0.0.0`, `::`) without a
 * public URL or allowed hosts: the names clients use are then unknown.
 */
export class HostPolicy {
  private readonly allowed = new Set<string>();
  private readonly loopbackAnyPort: boolean;
  readonly enforced: boolean;

  constructor(config: GatehouseConfig) {
    const publicUrl = new URL(config.publicUrl!);
    const extra = config.gateway.allowedHosts;
    this.loopbackAnyPort = LOOPBACK.has(publicUrl.hostname);
    // `start` fills an unset public URL with http://127.0.0.1:<port> even when it binds every interface.
    const guessedPublicUrl = this.loopbackAnyPort && EVERY_INTERFACE.has(config.host);
    this.enforced = !extra.includes('*') && !(guessedPublicUrl && extra.length === 0);
    for (const entry of [publicUrl.host, ...extra]) {
      const h = entry.trim().toLowerCase();
      const parts = splitHost(h);
      if (parts === undefined) continue;
      this.allowed.add(h);
      if (parts.port === '') this.allowed.add(`${h}:80`).add(`${h}:443`);
    }
  }

  /** Whether `host` (a Host or trusted X-Forwarded-Host value) names this gateway. */
  allows(host: string): boolean {
    if (!this.enforced || this.allowed.has(host)) return true;
    const h = host.toLowerCase();
    if (this.allowed.has(h)) return true;
    if (!this.loopbackAnyPort) return false;
    const parts = splitHost(h);
    if (parts === undefined || !LOOPBACK.has(parts.name)) return false;
    // `localhost:8080` comes on every request of a local browser: one Set lookup from now on.
    if (this.allowed.size < 256) this.allowed.add(host);
    return true;
  }
}
