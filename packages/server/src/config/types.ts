/**
 * The configuration's types, derived from the one description of every key in schema.ts (each
 * key's documentation is there).
 */
export type { Config as GatehouseConfig, FederationProviderConfig, FederationProviderType, IntrospectionClient, RouteAuth, RouteConfig } from './schema.js';
