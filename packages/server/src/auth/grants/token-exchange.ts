import {
  JWT_TOKEN_TYPE,
  MAX_ACTOR_DEPTH,
  PassportError,
  TOKEN_EXCHANGE_GRANT_TYPE,
  type PassportActor,
  type PassportAuth,
  type PassportClaims,
  type PassportVerifier,
} from '@gatehouse/sdk';
import { issuerOf } from '../../config/issuer.js';
import type { Deps } from '../../context.js';
import { AUTH_SERVICE } from '../../credentials/auth-service.js';
import { passportClaims, passportTtlSec, signPassport } from '../../credentials/passport.js';
import { parseScope } from '../../credentials/scope.js';
import { GatehouseError } from '../../errors/index.js';
import { isDisabled, type ClientRecord } from '../../stores/types.js';
import { BASIC_CHALLENGE, type TokenClient } from '../client-auth.js';
import { OAUTH_JSON, requireParam } from '../oauth.js';
import { keyringPassportVerifier } from '../passport.js';
import { isSessionLive } from '../sessions.js';
import { CLIENT_ID_PARAM, CLIENT_SECRET_PARAM, type Grant } from './grant.js';

/**
 * grant_type=urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693; issue 14 §4): a service
 * that received a user's passport exchanges it, authenticated as its own confidential client,
 * for a passport addressed to the next service it calls on that user's behalf.
 *
 * - The subject passport is verified like the SDK verifies it (it is the SDK's verifier, over the
 *   auth service's own keys: EdDSA only, `typ: passport+jwt`, `iss`, times, claim shapes, a
 *   well-formed `act`), with `aud` = the calling client's own service; then one store read says
 *   whether the user still holds it: its session by `sid` (gone after a sign-out, sign-out-all,
 *   password change or removal of the user), or the user itself for a passport without `sid`.
 * - The new passport names the same user with the same claims, `aud` = `audience` (one of the
 *   client's registered audiences, else `invalid_target`), `act: {sub: <client id>}` with the
 *   subject's own verified `act` nested inside (nothing the caller sends goes into it), scopes
 *   never wider than the subject's and the client's, and `exp` never past the subject's nor
 *   `passport.ttlSec` (≤ 60 s) from now. It is minted by the same code as the gateway's passports.
 * - Every refusal is in the OAuth shape; a subject passport that is not acceptable for any reason
 *   is `invalid_request`, as RFC 8693 §2.2.2 says.
 */

const SUBJECT_PARAM = { maxLength: 8192 };
const TYPE_PARAM = { maxLength: 256 };

/** The credential kinds that name a user: only their passports may be exchanged. */
const USER_AUTH: ReadonlySet<string> = new Set<PassportAuth>(['session', 'access_token', 'api_token']);

function badRequest(detail: string, cause?: unknown): GatehouseError {
  return new GatehouseError('invalid_request', { detail, cause });
}

/** Why a subject passport is refused, in words a service developer can act on (never a secret). */
function subjectRefusal(err: unknown, ownService: string): GatehouseError {
  if (!(err instanceof PassportError)) return badRequest('The subject_token is not a valid passport.', err);
  if (err.status === 503) return new GatehouseError('unavailable', { detail: 'The signing keys are unavailable; try again shortly.', cause: err });
  const why: Partial<Record<string, string>> = {
    passport_wrong_type: 'The subject_token is not a passport (an access token?): exchange the passport your service received in its x-passport header.',
    passport_malformed: 'The subject_token is not a well-formed passport: exchange the passport your service received in its x-passport header, unchanged.',
    passport_expired: 'The subject passport has expired: exchange the one of the request you are serving, while it is valid.',
    passport_not_yet_valid: 'The subject passport is not valid yet.',
    issuer_mismatch: 'The subject passport comes from another issuer.',
    audience_mismatch: `The subject passport was not minted for this client's own service ("${ownService}"): a client may exchange only the passports it received itself.`,
    unknown_key: 'The subject passport is not signed by a key of this Gatehouse.',
    signature_invalid: 'The subject passport\'s signature does not verify.',
  };
  return badRequest(why[err.code] ?? 'The subject_token is not a valid passport.', err);
}

const verifiers = new WeakMap<Deps, Map<string, PassportVerifier>>();
/** Bounds the verifiers kept per process: one per own service of the clients that exchange. */
const MAX_VERIFIERS = 1024;

/** The verifier of passports for `service` (cached: its verified-passport cache and key source live on). */
function verifierFor(deps: Deps, service: string): PassportVerifier {
  let byService = verifiers.get(deps);
  if (!byService) verifiers.set(deps, (byService = new Map()));
  let v = byService.get(service);
  if (v === undefined) {
    if (byService.size >= MAX_VERIFIERS) byService.clear();
    v = keyringPassportVerifier(deps, service);
    byService.set(service, v);
  }
  return v;
}

/** The client, if it may exchange: a confidential client authenticated, registered with the grant. */
async function exchangingClient(deps: Deps, client: TokenClient): Promise<ClientRecord> {
  if (client.kind === 'first_party') throw new GatehouseError('unauthorized_client', { detail: 'Token exchange is for services: authenticate with your confidential client\'s id and secret (HTTP Basic).' });
  if (client.kind === 'unauthenticated') {
    const known = await deps.stores.clients.get(client.clientId).catch(() => null);
    if (known?.type === 'public') throw new GatehouseError('unauthorized_client', { detail: 'A public client has no secret: it cannot exchange tokens.' });
    throw new GatehouseError('invalid_client', { detail: 'Token exchange needs client authentication (HTTP Basic or client_secret).', headers: { 'www-authenticate': BASIC_CHALLENGE } });
  }
  if (!client.client.grants.includes('token-exchange')) {
    throw new GatehouseError('unauthorized_client', { detail: `This client is not registered for token exchange: gatehouse clients update ${client.client.clientId} --grants ...,token-exchange --audiences <services>.` });
  }
  return client.client;
}

/**
 * The scopes of the new passport: the requested ones, each held by the subject (when it carries
 * scopes) and registered for the client, else `invalid_scope`; without a request, the subject's
 * own scopes that the client is registered for. A subject without scopes (a browser session)
 * gives a passport without scopes unless some are asked for.
 */
function exchangedScope(requested: string | undefined, subject: PassportClaims, client: ClientRecord): string | undefined {
  const held = subject.scope === undefined ? undefined : subject.scope.split(' ').filter((s) => s !== '');
  if (requested === undefined) return held === undefined ? undefined : held.filter((s) => client.scopes.includes(s)).join(' ');
  const asked = parseScope(requested);
  const beyondSubject = held === undefined ? [] : asked.filter((s) => !held.includes(s));
  if (beyondSubject.length > 0) throw new GatehouseError('invalid_scope', { detail: `The subject passport does not carry ${beyondSubject.map((s) => JSON.stringify(s)).join(', ')}: an exchange may only narrow the scopes.` });
  const beyondClient = asked.filter((s) => !client.scopes.includes(s));
  if (beyondClient.length > 0) throw new GatehouseError('invalid_scope', { detail: `This client is not registered for ${beyondClient.map((s) => JSON.stringify(s)).join(', ')}.` });
  return asked.join(' ');
}

/** One store read: does the user still hold this passport? (its session, or the user for a passport without one) */
async function checkStillHeld(deps: Deps, subject: PassportClaims, now: number): Promise<void> {
  if (subject.sid !== undefined) {
    const session = await deps.stores.sessions.findById(subject.sid);
    if (session === null || session.userId !== subject.sub || !isSessionLive(session, now)) {
      throw badRequest('The subject passport\'s session has ended (signed out or revoked): the user must sign in again.');
    }
    return;
  }
  const user = await deps.stores.users.findById(subject.sub);
  if (user === null || isDisabled(user)) throw badRequest('The subject passport\'s user no longer exists or is disabled.');
}

export const tokenExchangeGrant: Grant = {
  type: TOKEN_EXCHANGE_GRANT_TYPE,
  params: {
    client_id: CLIENT_ID_PARAM,
    client_secret: CLIENT_SECRET_PARAM,
    subject_token: SUBJECT_PARAM,
    subject_token_type: TYPE_PARAM,
    audience: { maxLength: 128 },
    scope: { maxLength: 4096 },
    requested_token_type: TYPE_PARAM,
    // Taken only to be refused with a reason (not "unknown parameter").
    actor_token: SUBJECT_PARAM,
    actor_token_type: TYPE_PARAM,
    resource: { maxLength: 2048 },
  },
  async handle({ reply, ctx, params, client: tokenClient }) {
    const { deps, auth } = ctx;
    const client = await exchangingClient(deps, tokenClient);
    if (params.actor_token !== undefined || params.actor_token_type !== undefined) {
      throw badRequest('actor_token is not supported: the acting party is the authenticated client, and the chain before it comes from the subject passport\'s own act.');
    }
    if (params.resource !== undefined) throw badRequest('resource is not supported: name the next service with audience=<service>.');
    const subjectToken = requireParam(params, 'subject_token');
    const subjectType = requireParam(params, 'subject_token_type');
    if (subjectType !== JWT_TOKEN_TYPE) throw badRequest(`subject_token_type must be ${JWT_TOKEN_TYPE} (a passport).`);
    if (params.requested_token_type !== undefined && params.requested_token_type !== JWT_TOKEN_TYPE) {
      throw badRequest(`requested_token_type may only be ${JWT_TOKEN_TYPE}: the answer is a passport.`);
    }
    const audience = requireParam(params, 'audience');
    if (audience === AUTH_SERVICE || !client.audiences.includes(audience)) {
      throw new GatehouseError('invalid_target', {
        detail: `This client may not call ${JSON.stringify(audience)} on a user's behalf; its audiences are ${client.audiences.join(', ') || 'none'} (gatehouse clients update ${client.clientId} --audiences ...).`,
      });
    }

    const ownService = client.service ?? client.clientId;
    let subject: PassportClaims;
    try {
      subject = await verifierFor(deps, ownService).verify(subjectToken);
    } catch (err) {
      throw subjectRefusal(err, ownService);
    }
    const now = deps.clock.now();
    // The verifier allows clock leeway; an exchange never outlives its subject.
    if (subject.exp * 1000 <= now) throw subjectRefusal(new PassportError('passport_expired', 'expired'), ownService);
    if (subject.auth === 'client' || !USER_AUTH.has(subject.auth)) throw badRequest('The subject passport names no user: only a user\'s passport can be exchanged.');
    if ((subject.actors?.length ?? 0) >= MAX_ACTOR_DEPTH) throw badRequest(`The chain of services is already ${MAX_ACTOR_DEPTH} long: no further exchange.`);
    const scope = exchangedScope(params.scope, subject, client);
    await checkStillHeld(deps, subject, now);

    const act: PassportActor = subject.act === undefined ? { sub: client.clientId } : { sub: client.clientId, act: subject.act };
    const iat = Math.floor(now / 1000);
    const exp = Math.min(subject.exp, iat + passportTtlSec(deps.config));
    const claims = passportClaims(
      issuerOf(deps.config),
      { auth: subject.auth, user: { id: subject.sub, username: subject.username, roles: subject.roles }, sid: subject.sid, did: subject.did, scope, act, amr: subject.amr, authTime: subject.auth_time },
      audience,
      iat,
      exp,
    );
    const token = await signPassport(claims, deps.keyring.signingKey());
    deps.logger.info(
      { event: 'token.exchange', clientId: client.clientId, userId: subject.sub, sid: subject.sid, aud: audience, subjectJti: subject.jti, jti: claims.jti, actors: [client.clientId, ...(subject.actors ?? [])] },
      'passport exchanged',
    );
    auth.metrics.grant('token-exchange');
    const body: Record<string, unknown> = { access_token: token, issued_token_type: JWT_TOKEN_TYPE, token_type: 'N_A', expires_in: exp - iat };
    if (scope !== undefined) body.scope = scope;
    return reply.code(200).header('pragma', 'no-cache').type(OAUTH_JSON).send(JSON.stringify(body));
  },
};
