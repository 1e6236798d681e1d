import { PassportError } from './errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** The challenge of a 401 without a passport (RFC 6750 §3.1: no error code when none was sent). */
export const WWW_AUTHENTICATE = 'Passport realm="gatehouse"';

export interface PassportProblem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

/** What a client sees when a passport is refused: fixed texts, never the underlying error. */
export interface PassportRefusal {
  status: number;
  headers: Record<string, string>;
  body: PassportProblem;
}

function problem(code: string, status: number, title: string, detail: string): PassportProblem {
  return { type: `urn:gatehouse:error:${code}`, title, status, detail, code };
}

/**
 * The challenge of a 401 for a passport that was sent but refused: RFC 6750's
 * `error="invalid_token"`, and `error_description` naming the cause by its code (one of the fixed
 * `PassportErrorCode` names, never anything taken from the request).
 */
export function invalidTokenChallenge(err: unknown): string {
  const base = `${WWW_AUTHENTICATE}, error="invalid_token"`;
  return err instanceof PassportError && err.status === 401 ? `${base}, error_description="${err.code}"` : base;
}

/**
 * The answer to a refused passport. The body keeps the stable public codes of docs/errors.md:
 * `missing_passport` without one, `invalid_passport` for every other 401 cause, so a caller learns
 * nothing from it; the cause is in the `WWW-Authenticate` header's `error_description`, for
 * machines, and in the `PassportError` the middleware hands to `onError`, for logs.
 */
export function refusalFor(err: unknown): PassportRefusal {
  const code = err instanceof PassportError ? err.code : 'passport_malformed';
  const headers: Record<string, string> = {
    'content-type': PROBLEM_CONTENT_TYPE,
    'cache-control': 'no-store',
  };
  switch (code) {
    case 'jwks_unreachable':
    case 'jwks_invalid':
      return {
        status: 503,
        headers: { ...headers, 'retry-after': '5' },
        body: problem(
          'unavailable',
          503,
          'A store or service needed for this request is unavailable',
          'The keys that verify passports could not be loaded. Try again shortly.',
        ),
      };
    case 'forbidden':
      return {
        status: 403,
        headers,
        body: problem('forbidden', 403, 'Not allowed', 'The passport does not grant access to this resource.'),
      };
    case 'insufficient_user_authentication': {
      // RFC 9470: the client is to sign in again (or with a second factor) at Gatehouse.
      const e = err instanceof PassportError ? err : undefined;
      const mfa = e?.required !== 'max_age';
      const description = mfa ? 'A sign-in with a second factor or a passkey is required' : 'A more recent sign-in is required';
      const maxAge = e?.maxAgeSec;
      return {
        status: 401,
        headers: {
          ...headers,
          'www-authenticate': `Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="${description}"${maxAge === undefined ? '' : `, max_age=${maxAge}`}`,
        },
        body: problem('insufficient_user_authentication', 401, 'A stronger or more recent sign-in is required', `${description}. Re-authenticate at Gatehouse and try again.`),
      };
    }
    case 'passport_missing':
      return {
        status: 401,
        headers: { ...headers, 'www-authenticate': WWW_AUTHENTICATE },
        body: problem(
          'missing_passport',
          401,
          'A passport is required',
          'This service accepts requests only through the Gatehouse gateway.',
        ),
      };
    default:
      return {
        status: 401,
        headers: { ...headers, 'www-authenticate': invalidTokenChallenge(err) },
        body: problem(
          'invalid_passport',
          401,
          'The passport is not valid',
          'The passport is malformed, expired, or not meant for this service.',
        ),
      };
  }
}

/** The subset of `http.ServerResponse` (also Express's `res`) the middleware writes to. */
export interface ServerResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}

export function writeRefusal(res: ServerResponseLike, refusal: PassportRefusal): void {
  res.statusCode = refusal.status;
  for (const [name, value] of Object.entries(refusal.headers)) res.setHeader(name, value);
  res.end(JSON.stringify(refusal.body));
}
