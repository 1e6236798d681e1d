import type { Deps } from '../../../context.js';
import type { RevocationSet } from '../../revocation-set.js';
import { AccessTokenVerifier } from './access-token.js';
import { ApiTokenVerifier } from './api-token.js';
import { BearerAuthenticator } from './bearer.js';
import { ClientTokenVerifier, CurrentClients } from './client-token.js';
import { CurrentUsers } from './current-user.js';
import { SessionCookieAuthenticator } from './session-cookie.js';
import type { Authenticator, DegradedReporter } from './types.js';

/** What an authenticator may be built from: the gateway's shared parts, made once per gateway. */
export interface AuthenticatorContext {
  readonly deps: Deps;
  /** The one in-memory revocation set; every credential cache hears of revocations through it. */
  readonly revocations: RevocationSet;
  /** Drops the cached passports of a session that ended (the passport stage's cache). */
  readonly dropPassports: (sid: string) => void;
  readonly countDegraded: DegradedReporter;
}

/** One built authenticator and what stops its timers and caches when the gateway closes. */
export interface BuiltAuthenticator {
  readonly authenticator: Authenticator;
  close(): void;
}

/** A named credential kind: how to build its authenticator. */
export interface AuthenticatorRegistration {
  /** The name the chain is declared with (`bearer`, `session_cookie`); unique. */
  readonly name: string;
  build(ctx: AuthenticatorContext): BuiltAuthenticator;
}

/**
 * Every credential kind the gateway knows, in chain order: the first authenticator that does
 * not answer "not mine" decides (runChain). A new credential kind registers here, and only here.
 * Bearer first: when a bearer token and a session cookie both come, the bearer token decides.
 */
export const AUTHENTICATORS: readonly AuthenticatorRegistration[] = [
  {
    name: 'bearer',
    build(ctx) {
      const apiTokens = new ApiTokenVerifier(ctx.deps, ctx.revocations, ctx.countDegraded);
      const accessTokens = new AccessTokenVerifier(ctx.deps, ctx.revocations, new CurrentUsers(ctx.deps, ctx.countDegraded));
      // Service identity (issue 14 §3): client-credentials tokens share the bearer header and the
      // access-token format, so the bearer authenticator dispatches them (bearer.ts says why).
      const clientTokens = new ClientTokenVerifier(ctx.deps, ctx.revocations, new CurrentClients(ctx.deps, ctx.countDegraded));
      return { authenticator: new BearerAuthenticator(ctx.revocations, accessTokens, apiTokens, clientTokens), close: () => apiTokens.close() };
    },
  },
  {
    name: 'session_cookie',
    build(ctx) {
      const sessions = new SessionCookieAuthenticator(ctx.deps, ctx.revocations, ctx.dropPassports, ctx.countDegraded);
      return { authenticator: sessions, close: () => sessions.close() };
    },
  },
];

/**
 * The authenticators of one gateway, built from the registrations once, at start (Oathkeeper's
 * `pipeline/authn` registry in spirit: names to handlers, looked up by name). `chain` is the
 * array the authenticate stage walks on every request: built here once, never per request.
 */
export class AuthenticatorRegistry {
  private readonly built = new Map<string, BuiltAuthenticator>();
  /** The authenticators in the declared order. */
  readonly chain: readonly Authenticator[];

  constructor(ctx: AuthenticatorContext, registrations: readonly AuthenticatorRegistration[] = AUTHENTICATORS) {
    const chain: Authenticator[] = [];
    for (const r of registrations) {
      if (this.built.has(r.name)) throw new Error(`authenticator ${r.name} is registered twice`);
      const b = r.build(ctx);
      this.built.set(r.name, b);
      chain.push(b.authenticator);
    }
    this.chain = chain;
  }

  /** The registered names, in chain order. */
  available(): string[] {
    return [...this.built.keys()];
  }

  /** The authenticator registered under `name`; throws for a name nobody registered. */
  get(name: string): Authenticator {
    const b = this.built.get(name);
    if (b === undefined) throw new Error(`no authenticator is registered as ${name} (known: ${this.available().join(', ')})`);
    return b.authenticator;
  }

  close(): void {
    for (const b of this.built.values()) b.close();
  }
}
