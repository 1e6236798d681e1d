import { CONFIG_FILE_ENV, defaultsOf, ENV_KEYS, SCHEMA } from './schema.js';
import type { GatehouseConfig } from './types.js';

/** Every configuration default, taken from schema.ts (docs/configuration.md states each one; schema.test.ts compares). */
export const DEFAULTS: GatehouseConfig = defaultsOf(SCHEMA);

/** Environment variables and the config key each one sets (from schema.ts), and GATEHOUSE_CONFIG. */
export const ENV_VARS: Readonly<Record<string, string>> = Object.freeze({
  ...Object.fromEntries(ENV_KEYS.map((e) => [e.env, e.path])),
  [CONFIG_FILE_ENV.name]: '(path of the JSON config file)',
});
