import fastifyCookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Deps } from '../context.js';
import { closeAuthContext, createAuthContext, type AuthContext } from './auth-context.js';
import type { EndpointContext } from './endpoint-context.js';
import { registerAdminUsersList } from './endpoints/admin-users-list.js';
import { registerAdminUsersShow } from './endpoints/admin-users-show.js';
import { registerAdminUsersRoles } from './endpoints/admin-users-roles.js';
import { registerAdminUsersDisable } from './endpoints/admin-users-disable.js';
import { registerAdminUsersEnable } from './endpoints/admin-users-enable.js';
import { registerAdminUsersSignoutAll } from './endpoints/admin-users-signout-all.js';
import { registerAdminUsersRequirePasswordChange } from './endpoints/admin-users-require-password-change.js';
import { registerAdminUsersResetLink } from './endpoints/admin-users-reset-link.js';
import { registerAdminUsersDelete } from './endpoints/admin-users-delete.js';
import { registerAdminSessionsList } from './endpoints/admin-sessions-list.js';
import { registerAdminSessionsDelete } from './endpoints/admin-sessions-delete.js';
import { registerAdminKeysList } from './endpoints/admin-keys-list.js';
import { registerAdminKeysRotate } from './endpoints/admin-keys-rotate.js';
import { registerAdminClientsList } from './endpoints/admin-clients-list.js';
import { registerAdminClientsAdd } from './endpoints/admin-clients-add.js';
import { registerAdminClientsDelete } from './endpoints/admin-clients-delete.js';
import { registerAdminAuditList } from './endpoints/admin-audit-list.js';
import { registerAdminAuditExport } from './endpoints/admin-audit-export.js';
import { registerApiTokensCreate } from './endpoints/api-tokens-create.js';
import { registerApiTokensDelete } from './endpoints/api-tokens-delete.js';
import { registerApiTokensList } from './endpoints/api-tokens-list.js';
import { registerActivity } from './endpoints/activity.js';
import { registerChallenge } from './endpoints/challenge.js';
import { registerDeviceApprove } from './endpoints/device-approve.js';
import { registerDeviceAuthorize } from './endpoints/device-authorize.js';
import { registerDeviceDeny } from './endpoints/device-deny.js';
import { registerDeviceLookup } from './endpoints/device-lookup.js';
import { registerHealth } from './endpoints/health.js';
import { registerIntrospect } from './endpoints/introspect.js';
import { registerMe } from './endpoints/me.js';
import { registerIdentitiesDelete } from './endpoints/identities-delete.js';
import { registerIdentitiesList } from './endpoints/identities-list.js';
import { registerPasswordChange } from './endpoints/password-change.js';
import { registerPasswordForgot } from './endpoints/password-forgot.js';
import { registerPasswordReset } from './endpoints/password-reset.js';
import { registerEmailDelete } from './endpoints/email-delete.js';
import { registerEmailGet } from './endpoints/email-get.js';
import { registerEmailPut } from './endpoints/email-put.js';
import { registerEmailVerify } from './endpoints/email-verify.js';
import { registerPasswordSet } from './endpoints/password-set.js';
import { registerPasskeysDelete } from './endpoints/passkeys-delete.js';
import { registerPasskeysList } from './endpoints/passkeys-list.js';
import { registerPasskeysRegister } from './endpoints/passkeys-register.js';
import { registerPasskeysRegisterOptions } from './endpoints/passkeys-register-options.js';
import { registerPasskeysRename } from './endpoints/passkeys-rename.js';
import { registerSigninPasskey } from './endpoints/signin-passkey.js';
import { registerSigninPasskeyOptions } from './endpoints/signin-passkey-options.js';
import { registerSigninMfaPasskeyOptions } from './endpoints/signin-mfa-passkey-options.js';
import { registerUsernameChange } from './endpoints/username-change.js';
import { registerReauth } from './endpoints/reauth.js';
import { registerReauthPasskeyOptions } from './endpoints/reauth-passkey-options.js';
import { registerRevoke } from './endpoints/revoke.js';
import { registerSessionsDelete } from './endpoints/sessions-delete.js';
import { registerSessionsList } from './endpoints/sessions-list.js';
import { registerSignin } from './endpoints/signin.js';
import { registerSignout } from './endpoints/signout.js';
import { registerSignoutAll } from './endpoints/signout-all.js';
import { registerSignup } from './endpoints/signup.js';
import { registerToken } from './endpoints/token.js';
import { registerFederationCallback } from './endpoints/federation-callback.js';
import { registerFederationLink } from './endpoints/federation-link.js';
import { registerFederationProviders } from './endpoints/federation-providers.js';
import { registerFederationStart } from './endpoints/federation-start.js';
import { registerMfaRecoveryCodes } from './endpoints/mfa-recovery-codes.js';
import { registerMfaStatus } from './endpoints/mfa-status.js';
import { registerMfaTotpConfirm } from './endpoints/mfa-totp-confirm.js';
import { registerMfaTotpDelete } from './endpoints/mfa-totp-delete.js';
import { registerMfaTotpEnrol } from './endpoints/mfa-totp-enrol.js';
import { registerSigninMfa } from './endpoints/signin-mfa.js';
import { buildFederationProviders } from './federation/providers/registry.js';
import { GatehouseError } from '../errors/index.js';
import { findDuplicateKey } from './strict-json.js';
import { clientErrorHandler, frameworkErrorHandler, installProblemHandlers } from './http-errors.js';
import { registerOAuthEndpoints } from './oauth.js';
import { startAuditSweeper } from './audit.js';
import { installLanes } from './lanes.js';
import { installAdminGuard } from './admin/guard.js';
import { installOpenApi } from './openapi.js';
import { installPassport } from './passport.js';
import { installRevocationReceipts } from './revocation-receipt.js';
import { warmPasswordPolicy } from './policy/password.js';

/**
 * The internal auth service (Fastify, not listening: the caller listens). Reached only through
 * the gateway, which forwards /auth/* and, for every path but sign-up and sign-in, a passport
 * with `aud: "auth"` in `x-passport`. JSON bodies only (token, revoke and introspect also take
 * forms and answer OAuth-shaped errors), at most 64 KiB, problem+json errors,
 * `Cache-Control: no-store` on every answer.
 *
 * `auth` is the service's auth state (one password hasher: one concurrency cap), built on `deps`
 * here unless the caller built it (a test that watches the hasher); the service closes it.
 */
export async function buildAuthService(deps: Deps, auth: AuthContext = createAuthContext(deps)): Promise<FastifyInstance> {
  if (auth.deps !== deps) throw new Error('buildAuthService: the auth context was built on other deps');
  const bodyLimit = deps.config.gateway.maxBodyBytes;
  const app = Fastify({
    // Fastify's own lines ("Server listening at …") would clutter the start lines: at the
    // default level only its warnings show. Security events are logged through deps.logger.
    loggerInstance: deps.logger.child({ component: 'auth' }, { level: deps.logger.level === 'info' ? 'warn' : deps.logger.level }) as FastifyBaseLogger,
    // Security events are logged explicitly; no per-request access log here.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    trustProxy: false,
    frameworkErrors: frameworkErrorHandler(bodyLimit),
    clientErrorHandler,
    // Strict validation: unknown fields and wrong types are refused, never stripped or coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  });

  // JSON only. Fastify's parser (secure-json-parse: __proto__ / constructor.prototype are
  // refused) is kept; an empty JSON body is allowed for endpoints that take none.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '') {
      done(null, undefined);
      return;
    }
    jsonParser(request, text, (err, value) => {
      if (err) return done(err, undefined);
      const duplicate = findDuplicateKey(text);
      if (duplicate !== null) {
        return done(new GatehouseError('invalid_body', { detail: `The key "${duplicate.slice(0, 64)}" appears twice in one object; send it once.` }), undefined);
      }
      done(null, value);
    });
  });

  await app.register(fastifyCookie);
  installProblemHandlers(app, deps.logger, bodyLimit, deps.stores.health);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });

  // Pay for the common-password list, zxcvbn and the dummy hash now, not on the first request.
  warmPasswordPolicy();
  await auth.dummyHash;

  // The revocations each request took go back to the proxying gateway in a header it strips.
  installRevocationReceipts(app);

  // The verified passport is the request decoration `request.passport` (passport.ts).
  // The identity providers, built once (a missing client secret stops the start here, naming its variable).
  const federation = buildFederationProviders(deps.config);
  const ctx: EndpointContext = { deps, auth, authenticate: installPassport(app, deps), federation };
  // Every route declares its credential lane; this one check enforces them all (lanes.ts).
  installLanes(app, ctx.authenticate);
  // Behind the lane, every /auth/admin/ route: role, recent sign-in, write limit, audit (admin/guard.ts).
  installAdminGuard(app, deps);
  // Sees every route registered after it: the OpenAPI document of /auth (openapi.ts).
  await installOpenApi(app, deps);
  registerHealth(app, ctx);
  registerSignup(app, ctx);
  registerChallenge(app, ctx);
  registerSignin(app, ctx);
  registerSignout(app, ctx);
  registerSignoutAll(app, ctx);
  registerMe(app, ctx);
  registerSessionsList(app, ctx);
  registerSessionsDelete(app, ctx);
  registerPasswordChange(app, ctx);
  registerPasswordSet(app, ctx);
  registerPasswordForgot(app, ctx);
  registerPasswordReset(app, ctx);
  registerEmailGet(app, ctx);
  registerEmailPut(app, ctx);
  registerEmailVerify(app, ctx);
  registerEmailDelete(app, ctx);
  registerUsernameChange(app, ctx);
  registerIdentitiesList(app, ctx);
  registerIdentitiesDelete(app, ctx);
  registerApiTokensCreate(app, ctx);
  registerApiTokensList(app, ctx);
  registerApiTokensDelete(app, ctx);
  registerActivity(app, ctx);
  registerDeviceLookup(app, ctx);
  registerDeviceApprove(app, ctx);
  registerDeviceDeny(app, ctx);
  registerFederationProviders(app, ctx);
  registerFederationStart(app, ctx);
  registerFederationLink(app, ctx);
  registerFederationCallback(app, ctx);
  registerSigninMfa(app, ctx);
  registerSigninMfaPasskeyOptions(app, ctx);
  registerMfaStatus(app, ctx);
  registerMfaTotpEnrol(app, ctx);
  registerMfaTotpConfirm(app, ctx);
  registerMfaTotpDelete(app, ctx);
  registerMfaRecoveryCodes(app, ctx);
  registerReauth(app, ctx);
  registerReauthPasskeyOptions(app, ctx);
  registerPasskeysRegisterOptions(app, ctx);
  registerPasskeysRegister(app, ctx);
  registerPasskeysList(app, ctx);
  registerPasskeysRename(app, ctx);
  registerPasskeysDelete(app, ctx);
  registerSigninPasskeyOptions(app, ctx);
  registerSigninPasskey(app, ctx);
  // The admin API (issue 18, docs/admin.md).
  registerAdminUsersList(app, ctx);
  registerAdminUsersShow(app, ctx);
  registerAdminUsersRoles(app, ctx);
  registerAdminUsersDisable(app, ctx);
  registerAdminUsersEnable(app, ctx);
  registerAdminUsersSignoutAll(app, ctx);
  registerAdminUsersRequirePasswordChange(app, ctx);
  registerAdminUsersResetLink(app, ctx);
  registerAdminUsersDelete(app, ctx);
  registerAdminSessionsList(app, ctx);
  registerAdminSessionsDelete(app, ctx);
  registerAdminKeysList(app, ctx);
  registerAdminKeysRotate(app, ctx);
  registerAdminClientsList(app, ctx);
  registerAdminClientsAdd(app, ctx);
  registerAdminClientsDelete(app, ctx);
  registerAdminAuditList(app, ctx);
  registerAdminAuditExport(app, ctx);
  // Token, revoke and introspect take forms too and answer errors in the OAuth shape.
  await registerOAuthEndpoints(app, deps.logger, bodyLimit, (scope) => {
    registerToken(scope, ctx);
    registerDeviceAuthorize(scope, ctx);
    registerRevoke(scope, ctx);
    registerIntrospect(scope, ctx);
  }, deps.stores.health);

  startAuditSweeper(app, deps);
  // Background security events are written before the stores may close, then the hashing threads stop.
  app.addHook('onClose', async () => closeAuthContext(auth));

  await app.ready();
  // OIDC discovery now, in the background, so the first sign-in does not wait for it (a failure is retried then).
  if (federation.list.length > 0) {
    void federation.warmUp().then((failed) => {
      if (failed.length > 0) deps.logger.warn({ event: 'federation.discovery_failed', providers: failed }, 'identity provider discovery failed; it is tried again at the next sign-in with it');
    });
  }
  return app;
}
