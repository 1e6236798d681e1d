import * as oidc from 'openid-client';
import { GatehouseError } from '../../../errors/index.js';

/**
 * How a provider's failures become Gatehouse errors. Two answers only:
 * - `federation_unavailable` (503, Retry-After): the provider could not be reached, did not
 *   answer within `federation.timeoutMs`, or answered with a server error. Nothing the person did
 *   wrong; try again later or sign in another way.
 * - `federation_failed` (400): the answer came back but could not be accepted (state, iss,
 *   code, ID token, user API). Start again.
 *
 * The `cause` kept for the log is a short description made here (step, library error name and
 * code, the provider's OAuth error code), never the library's error itself: those can hold the
 * callback's parameters (the code), token responses or claims.
 */

/** Seconds a client is told to wait after `federation_unavailable`. */
export const FEDERATION_RETRY_AFTER_SEC = 30;

/** Which call failed, for the log line. */
export type FederationStep = 'discovery' | 'callback' | 'token' | 'userinfo' | 'user api';

export function federationFailed(providerName: string, why: string, detail?: string): GatehouseError {
  return new GatehouseError('federation_failed', {
    detail: detail ?? `The sign-in with ${providerName} did not complete (the provider's answer could not be verified). Start the sign-in again from the sign-in page.`,
    cause: new Error(why),
  });
}

export function federationUnavailable(providerName: string, why: string): GatehouseError {
  return new GatehouseError('federation_unavailable', {
    detail: `${providerName} did not answer in time or could not be reached. Try again in a minute, or sign in another way.`,
    headers: { 'retry-after': String(FEDERATION_RETRY_AFTER_SEC) },
    cause: new Error(why),
  });
}

/** A short description of a library or network error, safe to log: no parameters, tokens or claims. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return typeof err;
  const code = (err as { code?: unknown }).code;
  const oauthError = (err as { error?: unknown }).error;
  const status = (err as { status?: unknown }).status;
  const parts = [err.name];
  if (typeof code === 'string') parts.push(code);
  if (typeof oauthError === 'string') parts.push(`error=${oauthError.slice(0, 64)}`);
  if (typeof status === 'number') parts.push(`status=${status}`);
  // Library messages name the check that failed ('unexpected "iss" (issuer) response parameter value'), never values.
  parts.push(err.message.slice(0, 160));
  // openid-client wraps oauth4webapi's error, whose message says which check failed; that
  // error's own `cause` (parameters, claims, the response body) is left out.
  const inner = err.cause;
  if (inner instanceof Error && inner.message !== err.message) parts.push(`(${inner.message.slice(0, 160)})`);
  return parts.join(' ');
}

/** The HTTP status of a provider response that was refused, when the library kept it. */
function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number') return status;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Response) return cause.status;
  return undefined;
}

/** Whether `err` means the provider was unreachable, slow or broken (rather than a refused answer). */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError')) return true;
  if (err instanceof oidc.ClientError && (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT')) return true;
  // undici: "fetch failed" with the socket error (ECONNREFUSED, ECONNRESET, ENOTFOUND) as cause.
  if (err instanceof TypeError && err.message === 'fetch failed') return true;
  const status = statusOf(err);
  return status !== undefined && status >= 500;
}

/** Turns any failure of `step` into one of the two codes (a GatehouseError passes through). */
export function federationError(err: unknown, providerName: string, step: FederationStep): GatehouseError {
  if (err instanceof GatehouseError) return err;
  const why = `${step}: ${describe(err)}`;
  // Discovery failing at all means the sign-in cannot even start: the provider (or its settings) is the problem.
  if (step === 'discovery' || isUnavailable(err)) return federationUnavailable(providerName, why);
  if (err instanceof oidc.AuthorizationResponseError && err.error === 'access_denied') {
    return federationFailed(providerName, why, `The sign-in was cancelled at ${providerName}. Start it again from the sign-in page if that was a mistake.`);
  }
  return federationFailed(providerName, why);
}
