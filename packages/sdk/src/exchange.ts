import { PASSPORT_HEADER } from './claims.js';

/** `grant_type` of token exchange (RFC 8693 §2.1). */
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** The token type of a passport in a token exchange (RFC 8693 §3): a JWT. */
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

export interface ExchangePassportOptions {
  /** The gateway's token endpoint, e.g. `http://127.0.0.1:8080/auth/token`. */
  tokenUrl: string | URL;
  /** Your service's OAuth client (`gatehouse clients add <id> --type confidential --grants token-exchange ...`). */
  clientId: string;
  clientSecret: string;
  /** The passport your service received (its `x-passport` header; `aud` = your service). */
  subjectToken: string;
  /** The service to call next: one of the client's `--audiences`. */
  audience: string;
  /** Narrower scopes than the subject passport's (space-separated or a list); default: the subject's. */
  scope?: string | readonly string[];
  /** Give up after this many ms. Default 5 000. */
  timeoutMs?: number;
}

/** A passport for the next service, minted by token exchange. */
export interface ExchangedPassport {
  /** Send it as the `x-passport` header (`passportHeaders`). */
  passport: string;
  /** Seconds it stays valid (never past the subject passport's `exp`, never over 60). */
  expiresIn: number;
  /** Its scopes; undefined when the subject passport had none (a browser session). */
  scope: string | undefined;
}

/**
 * Why an exchange failed. `error` is the OAuth error code of the token endpoint (RFC 6749 §5.2,
 * RFC 8693 §2.2.2: `invalid_request` for a subject passport that is not acceptable,
 * `invalid_target` for an audience the client may not call, `invalid_scope`, `invalid_client`,
 * `unauthorized_client`), or `unreachable` (no answer; `status` 0) / `invalid_response`.
 */
export class TokenExchangeError extends Error {
  constructor(
    readonly error: string,
    readonly status: number,
    readonly description: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(description === undefined ? `token exchange failed: ${error}` : `token exchange failed: ${error}: ${description}`, options);
    this.name = 'TokenExchangeError';
  }
}

/** RFC 6749 §2.3.1: the id and secret are each form-encoded before Basic. */
const formEncode = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');

/**
 * Exchanges the passport your service received for one addressed to the next service (RFC 8693),
 * authenticating as your service's client (HTTP Basic). The answer's passport names the same user,
 * with `act: {sub: <your client id>}` (the earlier chain nested inside), and is valid only at
 * `audience`. Send it with `passportHeaders(...)`. Rejects with a `TokenExchangeError`.
 *
 *     const next = await exchangePassport({ tokenUrl, clientId: 'orders', clientSecret, subjectToken: req.headers['x-passport'], audience: 'billing' });
 *     await fetch('http://billing.internal/charge', { method: 'POST', headers: { ...passportHeaders(next.passport), 'content-type': 'application/json' }, body });
 */
export async function exchangePassport(options: ExchangePassportOptions): Promise<ExchangedPassport> {
  const { tokenUrl, clientId, clientSecret, subjectToken, audience } = options;
  for (const [name, v] of Object.entries({ clientId, clientSecret, subjectToken, audience })) {
    if (typeof v !== 'string' || v === '') throw new TypeError(`${name} must be a non-empty string`);
  }
  const body = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
    subject_token: subjectToken,
    subject_token_type: JWT_TOKEN_TYPE,
    audience,
  });
  if (options.scope !== undefined) body.set('scope', typeof options.scope === 'string' ? options.scope : options.scope.join(' '));
  let res: Response;
  try {
    res = await fetch(tokenUrl, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: body.toString(),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
  } catch (err) {
    throw new TokenExchangeError('unreachable', 0, 'the token endpoint did not answer', { cause: err });
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch (err) {
    throw new TokenExchangeError('invalid_response', res.status, 'the token endpoint did not answer JSON', { cause: err });
  }
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  if (!res.ok) {
    throw new TokenExchangeError(typeof o.error === 'string' ? o.error : 'invalid_response', res.status, typeof o.error_description === 'string' ? o.error_description : undefined);
  }
  if (typeof o.access_token !== 'string' || o.issued_token_type !== JWT_TOKEN_TYPE || typeof o.expires_in !== 'number') {
    throw new TokenExchangeError('invalid_response', res.status, 'the answer is not a token-exchange answer with a JWT');
  }
  return { passport: o.access_token, expiresIn: o.expires_in, scope: typeof o.scope === 'string' ? o.scope : undefined };
}

/**
 * The request header that carries a passport to a service (`x-passport`, the one the gateway
 * uses), for `fetch`, `http.request` or any client: `{ headers: { ...passportHeaders(p), ... } }`.
 * Throws a TypeError for anything that is not a compact JWS (no header injection).
 */
export function passportHeaders(passport: string | ExchangedPassport): Record<typeof PASSPORT_HEADER, string> {
  const token = typeof passport === 'string' ? passport : passport?.passport;
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
    throw new TypeError('a passport is a compact JWS (three base64url parts)');
  }
  return { [PASSPORT_HEADER]: token };
}
