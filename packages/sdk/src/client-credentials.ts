/**
 * A service's own token (OAuth 2.0 client credentials, RFC 6749 §4.4) for calling other services
 * through the Gatehouse gateway as itself: fetched with HTTP Basic (`client_secret_basic`),
 * cached, refreshed before it expires, one request shared by every concurrent caller, retried
 * with capped exponential backoff and jitter while the auth service is briefly away.
 */

/** The fetch this helper needs (the global `fetch` of Node 18+ fits). */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface ClientCredentialsOptions {
  /** The token endpoint, e.g. `https://gatehouse.example.com/auth/token`. */
  tokenUrl: string | URL;
  clientId: string;
  /** The client's secret (`ghc_…`). Sent only to `tokenUrl`; never in an error or log. */
  clientSecret: string;
  /** Scopes to ask for (space-separated or a list); default: every scope the client is registered with. */
  scope?: string | readonly string[];
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
  /**
   * A token is renewed once this fraction of its lifetime has passed, or 30 s before it expires,
   * whichever comes first. Default 0.8.
   */
  refreshAtFraction?: number;
  /** Retries after the first attempt while the auth service is away; default 5. */
  maxRetries?: number;
  /** First backoff delay (ms); doubles each retry, with full jitter; default 200. */
  backoffBaseMs?: number;
  /** Largest backoff delay, and largest `Retry-After` honoured (ms); default 10 000. */
  backoffMaxMs?: number;
  /** Bound of one token request (ms); default 10 000. */
  timeoutMs?: number;
  /** Clock in ms since the epoch (tests); default `Date.now`. */
  now?: () => number;
  /** How to wait (tests); default `setTimeout`. */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) for the jitter (tests); default `Math.random`. */
  random?: () => number;
}

/**
 * The token endpoint refused (`error` is its OAuth error code: `invalid_client`, `invalid_scope`,
 * `unauthorized_client`…), or stayed away after every retry (`error` is `temporarily_unavailable`).
 */
export class ClientCredentialsError extends Error {
  constructor(
    /** OAuth error code (RFC 6749 §5.2), or `temporarily_unavailable` / `invalid_response`. */
    readonly error: string,
    /** HTTP status of the last answer; 0 when none came (network error, timeout). */
    readonly status: number,
    /** The endpoint's `error_description`, when it gave one. */
    readonly description: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`Client credentials: ${error}${description !== undefined ? `: ${description}` : ''}${status !== 0 ? ` (HTTP ${status})` : ''}`, options);
    this.name = 'ClientCredentialsError';
  }
}

/** Least remaining lifetime at which a token is renewed (ms). */
const RENEW_BEFORE_MS = 30_000;

interface Held {
  token: string;
  /** Epoch ms: renew from then on (the token still serves meanwhile). */
  renewAt: number;
  /** Epoch ms: no longer served. */
  expiresAt: number;
}

/** An answer worth another try: the auth service is away, overloaded or restarting. */
class Retryable extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(`token endpoint unavailable${status !== 0 ? ` (HTTP ${status})` : ''}`, options);
  }
}

/**
 * ```ts
 * const billing = new ClientCredentials({ tokenUrl: 'http://localhost:8080/auth/token', clientId: 'billing', clientSecret: process.env.BILLING_SECRET! });
 * const res = await billing.authorizedFetch('http://localhost:8080/api/orders/7');
 * ```
 */
export class ClientCredentials {
  private held: Held | undefined;
  private pending: Promise<Held> | undefined;
  private readonly authorization: string;
  private readonly body: string;
  private readonly doFetch: FetchLike;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly fraction: number;
  private readonly maxRetries: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly timeoutMs: number;
  private readonly tokenUrl: string;

  constructor(options: ClientCredentialsOptions) {
    if (options.clientId === '' || options.clientSecret === '') throw new TypeError('ClientCredentials needs a clientId and a clientSecret.');
    this.tokenUrl = String(options.tokenUrl);
    // RFC 6749 §2.3.1: each part form-urlencoded, then Basic.
    const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
    this.authorization = `Basic ${Buffer.from(`${enc(options.clientId)}:${enc(options.clientSecret)}`).toString('base64')}`;
    const params = new URLSearchParams({ grant_type: 'client_credentials' });
    const scope = typeof options.scope === 'string' ? options.scope : options.scope?.join(' ');
    if (scope !== undefined && scope.trim() !== '') params.set('scope', scope.trim());
    this.body = params.toString();
    this.doFetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.fraction = Math.min(Math.max(options.refreshAtFraction ?? 0.8, 0), 1);
    this.maxRetries = Math.max(0, options.maxRetries ?? 5);
    this.baseMs = Math.max(1, options.backoffBaseMs ?? 200);
    this.maxMs = Math.max(this.baseMs, options.backoffMaxMs ?? 10_000);
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * A token to send as `Authorization: Bearer …`: the cached one while it is fresh; in its renewal
   * window the cached one at once while one renewal runs in the background; else (none yet, or
   * expired) the one request every concurrent caller waits for. Rejects with ClientCredentialsError.
   */
  async getToken(): Promise<string> {
    const now = this.now();
    const held = this.held;
    if (held !== undefined && now < held.expiresAt) {
      if (now >= held.renewAt && this.pending === undefined) void this.request().catch(() => undefined);
      return held.token;
    }
    return (await this.request()).token;
  }

  /** `{ authorization: 'Bearer …' }` for an outgoing request. */
  async headers(): Promise<{ authorization: string }> {
    return { authorization: `Bearer ${await this.getToken()}` };
  }

  /**
   * `fetch` with this client's token. When the gateway answers 401 (the token was revoked, or
   * the keys rotated), the cached token is dropped and the request is sent once more with a new
   * one (only for a body that can be sent twice: none, a string, bytes or form data).
   */
  async authorizedFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const send = async (): Promise<Response> => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${await this.getToken()}`);
      return this.doFetch(input, { ...init, headers });
    };
    const res = await send();
    const replayable = init.body === undefined || init.body === null || typeof init.body === 'string' || init.body instanceof URLSearchParams || ArrayBuffer.isView(init.body);
    if (res.status !== 401 || !replayable) return res;
    await res.body?.cancel().catch(() => undefined);
    this.invalidate();
    return send();
  }

  /** Forgets the cached token (the next `getToken` fetches a new one). */
  invalidate(): void {
    this.held = undefined;
  }

  /** One request shared by every caller until it settles. */
  private request(): Promise<Held> {
    if (this.pending !== undefined) return this.pending;
    const p = this.withRetries().then(
      (held) => {
        this.held = held;
        return held;
      },
    );
    this.pending = p;
    const done = () => {
      if (this.pending === p) this.pending = undefined;
    };
    p.then(done, done);
    return p;
  }

  private async withRetries(): Promise<Held> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once();
      } catch (err) {
        if (!(err instanceof Retryable)) throw err;
        if (attempt >= this.maxRetries) {
          throw new ClientCredentialsError('temporarily_unavailable', err.status, `the token endpoint did not answer after ${attempt + 1} attempts; try again later`, { cause: err });
        }
        // Full jitter (a random delay up to the capped exponential bound), at least what Retry-After asks.
        const bound = Math.min(this.maxMs, this.baseMs * 2 ** attempt);
        const jittered = Math.floor(this.random() * bound);
        await this.sleep(Math.min(this.maxMs, Math.max(jittered, err.retryAfterMs ?? 0)));
      }
    }
  }

  private async once(): Promise<Held> {
    const started = this.now();
    let res: Response;
    try {
      res = await this.doFetch(this.tokenUrl, {
        method: 'POST',
        headers: { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: this.body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      // Network error or timeout: the auth service is away.
      throw new Retryable(0, undefined, { cause: err });
    }
    if (res.status === 429 || res.status >= 500) {
      await res.body?.cancel().catch(() => undefined);
      throw new Retryable(res.status, retryAfterMs(res.headers.get('retry-after'), this.now()));
    }
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = await res.json();
      if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
    } catch {
      // Not JSON: refused below.
    }
    const description = typeof body.error_description === 'string' ? body.error_description : undefined;
    if (!res.ok) {
      throw new ClientCredentialsError(typeof body.error === 'string' ? body.error : 'invalid_response', res.status, description);
    }
    const token = body.access_token;
    const expiresIn = body.expires_in;
    if (typeof token !== 'string' || token === '' || typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer' || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
      throw new ClientCredentialsError('invalid_response', res.status, 'the token endpoint answered without a bearer access_token and expires_in');
    }
    const lifeMs = expiresIn * 1000;
    const renewIn = Math.max(0, Math.min(lifeMs * this.fraction, lifeMs - RENEW_BEFORE_MS));
    return { token, renewAt: started + renewIn, expiresAt: started + lifeMs };
  }
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
