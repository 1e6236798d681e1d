import type { FastifyInstance } from 'fastify';
import { randomId } from '../../crypto/secrets.js';
import { GatehouseError } from '../../errors/index.js';
import { deviceIdFromCookie, setDeviceCookie, setSessionCookies } from '../cookies.js';
import { setKnownDeviceCookie } from '../device-cookie.js';
import type { EndpointContext } from '../endpoint-context.js';
import { resolveIdentity } from '../federation/accounts.js';
import { accountRulesOf, clearTransactionCookie, redirectUriOf, safeNextPath, sendFederationRefusal } from '../federation/http.js';
import { federationCookieName, unsealTransaction } from '../federation/transaction.js';
import { PUBLIC_LANE } from '../lanes.js';
import type { OperationDoc } from '../openapi.js';
import { limitPerIp } from '../rate-limit.js';
import { AMR_EXTERNAL, createDeviceSession } from '../sessions.js';
import { federationProviderParams, providerOrNotFound, type FederationParams } from './federation-start.js';

const CALLBACK_DOC: OperationDoc = {
  summary: 'Where the identity provider sends the browser back (the redirect URI registered there)',
  description:
    'Checks the sealed transaction cookie, the state, the code and the ID token, then signs the browser in exactly as POST /auth/signin does (session, CSRF and device cookies) and redirects to the `next` of the start; in link mode, links the provider account to the signed-in account and redirects to /account. A browser gets an HTML page for a refusal, any other client problem+json.',
  answers: { 302: { description: 'Signed in (or linked): to the same-origin `next` of the start (default /), or /account after a link.' } },
};

/**
 * GET /auth/federation/:provider/callback (public: the provider's redirect, a top-level
 * cross-site navigation). In order:
 * 1. the per-IP sign-in limit (`signin.perIpPerMinute`, 429 like POST /auth/signin);
 * 2. the transaction cookie: missing (login CSRF: a callback this browser never started),
 *    tampered, expired or another provider's -> federation_failed; it is cleared on every answer,
 *    so a callback URL works once;
 * 3. link mode: the request must carry a browser session of the account that started the link
 *    (else linking CSRF: an attacker's provider account into the victim's session) -> refused
 *    before the provider is asked anything;
 * 4. the provider's checks (`finish`: state, iss, PKCE, ID token / user API), then the account
 *    rules (`resolveIdentity`, which records the sign-in or the link in the activity log);
 * 5. sign-in: a device session and its cookies as a password sign-in sets them, 302 to `next`.
 */
export function registerFederationCallback(app: FastifyInstance, { deps, federation, authenticate }: EndpointContext): void {
  app.get<{ Params: FederationParams }>(
    '/auth/federation/:provider/callback',
    { schema: { params: federationProviderParams }, config: { lane: PUBLIC_LANE, openapi: CALLBACK_DOC } },
    async (request, reply) => {
      const id = request.params.provider;
      const { config } = deps;
      // Whatever happens next, this transaction is used up.
      clearTransactionCookie(reply, config);
      try {
        const provider = providerOrNotFound(federation, id);
        await limitPerIp(deps, request, 'signin', config.signin.perIpPerMinute);
        const tx = await unsealTransaction(deps.federationKey, request.cookies[federationCookieName(config)], provider, deps.clock);

        if (tx.mode.kind === 'link') {
          // The gateway forwards a passport when the browser sends its session cookie (route auth optional).
          if (request.headers['x-passport'] !== undefined) await authenticate(request).catch(() => undefined);
          const passport = request.passport;
          if (passport === null || passport.auth !== 'session' || passport.sub !== tx.mode.userId) {
            throw new GatehouseError('federation_failed', {
              detail: `This link of a ${provider.name} account was started by another signed-in account than the one in this browser now. Sign in to your account and start the link again from your account page.`,
              cause: new Error(passport === null ? 'link callback without a session' : 'link callback with the session of another account'),
            });
          }
        }

        const redirectUri = redirectUriOf(config, provider.id);
        const callbackUrl = new URL(redirectUri);
        const q = request.url.indexOf('?');
        callbackUrl.search = q < 0 ? '' : request.url.slice(q);
        const identity = await provider.finish({ callbackUrl, redirectUri, transaction: tx.transaction });
        const rules = accountRulesOf(config, provider.id);

        if (tx.mode.kind === 'link') {
          await resolveIdentity({ deps, request, deviceId: request.passport?.did ?? null }, identity, rules, { kind: 'link', userId: tx.mode.userId });
          return reply.redirect('/account', 302);
        }

        // As POST /auth/signin: the browser's device (cookie) or a new one; a persistent session.
        const cookieDeviceId = deviceIdFromCookie(request, config);
        const deviceId = cookieDeviceId ?? randomId();
        const { user } = await resolveIdentity({ deps, request, deviceId }, identity, rules, { kind: 'signin' });
        const { session, secret } = await createDeviceSession(deps, { user, deviceId, deviceName: null, persistent: true, amr: AMR_EXTERNAL }, request);
        setSessionCookies(reply, config, session, secret);
        setDeviceCookie(reply, config, deviceId);
        setKnownDeviceCookie(reply, deps, request, user.usernameCanonical);
        deps.logger.info({ event: 'federation.signin', provider: provider.id, userId: user.id, sid: session.id }, 'signed in through an identity provider');
        return reply.redirect(safeNextPath(tx.next), 302);
      } catch (err) {
        return sendFederationRefusal(deps, request, reply, id, err);
      }
    },
  );
}
