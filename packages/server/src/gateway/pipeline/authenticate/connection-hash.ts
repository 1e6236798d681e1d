import { hashSecret } from '../../../crypto/secrets.js';

/** The last secret hashed for a request of a connection, and its hash. */
interface Memo {
  secret: string;
  hash: string;
}

const MEMO = Symbol('gatehouse.lastSecretHash');
type Connection = object & { [MEMO]?: Memo };

/**
 * Whether two secrets are the same, in time that depends on their length only (no early exit
 * at the first difference): behind a proxy that pools connections, the previous secret on a
 * connection may be another client's.
 */
function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

/**
 * `hashSecret(secret)` (the key of the credential caches and stores), remembered on the
 * connection the request came on: a client sends the same session cookie or API token on every
 * request of a keep-alive connection, and a compare costs a tenth of a SHA-256. One entry per
 * connection (the last secret hashed there), gone with the connection; nothing else about the
 * credential is remembered here (every request still looks the hash up and runs every check).
 * Without a connection (a caller that has none), the hash is computed.
 */
export function hashOnConnection(connection: object | null | undefined, secret: string, hash: (secret: string) => string = hashSecret): string {
  if (connection === null || connection === undefined) return hash(secret);
  const c = connection as Connection;
  const memo = c[MEMO];
  if (memo !== undefined && sameSecret(memo.secret, secret)) return memo.hash;
  const h = hash(secret);
  if (memo === undefined) c[MEMO] = { secret, hash: h };
  else {
    memo.secret = secret;
    memo.hash = h;
  }
  return h;
}
