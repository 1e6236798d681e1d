import type { GatehouseConfig } from './types.js';

/**
 * The `iss` of passports and access tokens. By the time Deps are built, `publicUrl` is always
 * resolved (start binds the gateway first, then fills in http://host:port when it was unset).
 */
export function issuerOf(config: GatehouseConfig): string {
  const iss = config.passport.issuer ?? config.publicUrl;
  if (!iss) throw new Error('publicUrl must be resolved before the issuer is used');
  return iss.replace(/\/+$/, '');
}

/** The public origin (scheme://host[:port]) used by the Origin check. */
export function publicOriginOf(config: GatehouseConfig): string {
  if (!config.publicUrl) throw new Error('publicUrl must be resolved before the origin is used');
  return new URL(config.publicUrl).origin;
}

export function isHttps(config: GatehouseConfig): boolean {
  return config.publicUrl !== null && config.publicUrl.startsWith('https:');
}
