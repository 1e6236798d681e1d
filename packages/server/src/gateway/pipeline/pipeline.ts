import type { AccessLog } from '../access-log.js';
import type { CorsPolicy } from '../cors.js';
import type { Exchange } from '../exchange.js';
import { runChain } from './authenticate/chain.js';
import { unauthenticated } from './authenticate/errors.js';
import type { Authenticator, Identity } from './authenticate/types.js';
import { authorize } from './authorize/authorize.js';
import { checkBody } from './body/body.js';
import { checkCsrf, checkLoginCsrf, checkUpgradeOrigin, type CsrfOrigins } from './csrf/csrf.js';
import type { PassportCache } from './passport/passport-cache.js';
import type { Proxy } from './proxy/proxy.js';
import type { UpgradeProxy } from './proxy/upgrade.js';
import type { Refusals } from './respond/refusals.js';
import type { StripRules } from './headers.js';
import type { Clock } from '../../util/clock.js';
import { strip, type StripOptions } from './strip/strip.js';

/** The parts of the stages, built once per gateway (gateway.ts). */
export interface PipelineStages {
  stripRules: StripRules;
  stripOpts: StripOptions;
  cors: CorsPolicy;
  /** The authenticators in chain order (authenticate/registry.ts). */
  chain: readonly Authenticator[];
  origins: CsrfOrigins;
  passports: PassportCache;
  proxy: Proxy;
  /** The proxy stage of WebSocket upgrades. */
  upgrader: UpgradeProxy;
  refusals: Refusals;
  /** `log.access`: undefined when off (the hot path then checks one field). */
  access: AccessLog | undefined;
  /** Read only for a route with `maxAuthAgeSec` (authorize). */
  clock: Clock;
}

/**
 * The gateway's pipeline for a routed request, the one place its order is written (README.md):
 *
 *   strip → authenticate → csrf → authorize → body → passport → proxy → respond
 *
 * A fixed sequence of direct calls, not a loop over stage objects: a request whose credential
 * and passport are cached runs synchronously from strip to the upstream call, with no promise,
 * closure or array made on the way. A stage that has to wait (a store read, a passport being
 * signed) returns a promise and the rest continues after it. Any stage refuses by throwing;
 * respond turns the refusal into the answer.
 */
export class Pipeline {
  // The stages' parts as own fields (one load each on the hot path, not two).
  private readonly stripRules: StripRules;
  private readonly stripOpts: StripOptions;
  private readonly cors: CorsPolicy;
  private readonly chain: readonly Authenticator[];
  private readonly origins: CsrfOrigins;
  private readonly passports: PassportCache;
  private readonly forwarder: Proxy;
  private readonly upgrader: UpgradeProxy;
  private readonly refusals: Refusals;
  private readonly access: AccessLog | undefined;
  private readonly clock: Clock;

  constructor(stages: PipelineStages) {
    this.stripRules = stages.stripRules;
    this.stripOpts = stages.stripOpts;
    this.cors = stages.cors;
    this.chain = stages.chain;
    this.origins = stages.origins;
    this.passports = stages.passports;
    this.forwarder = stages.proxy;
    this.upgrader = stages.upgrader;
    this.refusals = stages.refusals;
    this.access = stages.access;
    this.clock = stages.clock;
  }

  /**
   * Runs the pipeline on a routed request. Throws (strip: two Host headers, a Host not served, a
   * Connection naming a checked header) before a route is counted; every later refusal is
   * answered here. Returns a promise only when a stage had to wait.
   */
  run(ex: Exchange): Promise<void> | void {
    // strip: the request headers read once, the upstream's built.
    strip(ex, this.stripRules, this.stripOpts);
    // A CORS preflight is answered by the gateway, never forwarded.
    if (ex.req.method === 'OPTIONS' && ex.preflightMethod !== undefined && ex.origin !== undefined) {
      this.refusals.preflight(ex, this.cors.preflightHeaders(ex.origin));
      return;
    }
    if (this.cors.enabled) {
      ex.res.setHeader('vary', 'Origin');
      const allowed = this.cors.actualHeaders(ex.origin);
      if (allowed !== undefined) for (const k in allowed) ex.res.setHeader(k, allowed[k]!);
    }
    let pending: Promise<void> | void;
    try {
      // authenticate: the first authenticator of the chain that recognises a credential decides.
      if (ex.route.auth === 'none') pending = this.admit(ex, null);
      else {
        const r = runChain(this.chain, ex);
        pending = r instanceof Promise ? r.then((identity) => this.admit(ex, identity)) : this.admit(ex, r);
      }
    } catch (err) {
      // respond (refusals)
      this.refusals.refuse(ex, err);
      return;
    }
    if (pending !== undefined) return pending.catch((err: unknown) => this.refusals.refuse(ex, err));
  }

  /** csrf → authorize → body → passport, then proxy. */
  private admit(ex: Exchange, identity: Identity | null): Promise<void> | void {
    const route = ex.route;
    if (route.auth !== 'none') {
      if (identity === null) {
        if (route.auth === 'required' || route.roles.length > 0) throw unauthenticated();
      } else {
        ex.identity = identity;
        // csrf: cookie-authenticated writes need the token and no sign of a foreign origin.
        checkCsrf(ex, this.origins);
        // A cookie-authenticated WebSocket must come from our own origin or an allowed one (CSWSH).
        if (ex.upgrade !== undefined) checkUpgradeOrigin(ex, this.origins);
        // authorize: the route's roles and scopes, then how the user signed in (mfa, maxAuthAgeSec).
        authorize(route, identity, ex.req.method ?? 'GET', this.clock);
      }
    }
    // csrf of sign-in and sign-up (no credential yet).
    if (route.loginCsrf) checkLoginCsrf(ex, this.origins);
    // body: length, method and media type before any upstream call.
    const hasBody = checkBody(ex);
    if (ex.identity === null) return this.proxy(ex, hasBody, undefined);
    // passport: minted per credential and service, cached.
    const p = this.passports.get(ex.identity, route.service);
    return typeof p === 'string' ? this.proxy(ex, hasBody, p) : p.then((passport) => this.proxy(ex, hasBody, passport));
  }

  /** proxy: forwards with the passport; respond relays the answer's headers (respond/relay.ts). */
  private proxy(ex: Exchange, hasBody: boolean, passport: string | undefined): void {
    if (passport !== undefined) ex.headers.push('x-passport', passport);
    const access = this.access;
    if (access !== undefined && ex.identity !== null) access.note(ex.res, ex.route.label, ex.identity.user.id);
    // The client may have left while we were busy; don't start an upstream call for nobody.
    if (ex.res.destroyed) return;
    if (ex.upgrade !== undefined) this.upgrader.forward(ex);
    else this.forwarder.forward(ex, hasBody);
  }
}
