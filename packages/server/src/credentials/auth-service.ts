/**
 * The auth service's name, in both roles it plays in the contract: the `service` of the gateway's
 * `/auth` routes (`gateway/auth-routes.ts`), hence the audience (`aud`) of the passports the gateway
 * mints for it, which the auth service requires (`auth/passport.ts`). Reserved: no configured
 * route may use it (`config/load-config.ts`), so no other upstream receives a passport the auth
 * service would accept.
 */
export const AUTH_SERVICE = 'auth';
