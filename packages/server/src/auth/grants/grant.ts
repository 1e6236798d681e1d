import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import type { ParamSpec } from '../oauth.js';
import type { TokenClient } from '../client-auth.js';
import type { EndpointContext } from '../endpoint-context.js';

/**
 * One grant type of POST /auth/token (RFC 6749 §4, and the extension grants): its name, the
 * parameters it takes (any other one is invalid_request), and what it answers. The token
 * endpoint reads the parameters, authenticates the client (auth/client-auth.ts) and hands both
 * to the grant named by `grant_type`; each grant lives in its own file here and is listed once
 * in `grants/registry.ts`.
 */
export interface Grant {
  /** The `grant_type` value (`password`, `urn:ietf:params:oauth:grant-type:device_code`, …). */
  readonly type: string;
  /** Every parameter this grant accepts (client_id and client_secret included where it takes them), with its longest value; `grant_type` is always allowed. */
  readonly params: Readonly<Record<string, ParamSpec>>;
  handle(input: GrantInput): Promise<FastifyReply>;
}

export interface GrantInput {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly ctx: EndpointContext;
  /** The request's parameters (form or JSON), each at most once, only those of this grant. */
  readonly params: Readonly<Record<string, string | undefined>>;
  /** Who the client is (first party, unauthenticated with a client_id, or an authenticated confidential client). */
  readonly client: TokenClient;
}

/** Client authentication in the body (RFC 6749 §2.3.1), for the grants that take it. */
export const CLIENT_ID_PARAM: ParamSpec = { maxLength: 128 };
export const CLIENT_SECRET_PARAM: ParamSpec = { maxLength: 1024 };

/** Throws invalid_request for a parameter the grant does not take. */
export function onlyParams(params: Readonly<Record<string, string | undefined>>, grant: Grant): void {
  for (const k of Object.keys(params)) {
    if (k !== 'grant_type' && !Object.hasOwn(grant.params, k)) {
      throw new GatehouseError('invalid_request', { detail: `The parameter "${k}" does not belong to grant_type=${grant.type}.` });
    }
  }
}
