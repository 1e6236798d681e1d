import { PASSPORT_HEADER } from './claims.js';
import { PassportError } from './errors.js';

/** Request headers as node:http, Fastify and Express expose them (lower-cased names). */
export type HeadersLike = Record<string, string | string[] | undefined>;

/**
 * The single passport of a request. No `x-passport` header: `passport_missing`. Several (an array,
 * or node's comma-joined value of repeated headers) or an empty one: `passport_malformed`.
 */
export function passportFromHeaders(headers: HeadersLike): string {
  const value = headers[PASSPORT_HEADER];
  if (value === undefined) throw new PassportError('passport_missing', 'no passport header');
  if (Array.isArray(value)) {
    if (value.length === 0) throw new PassportError('passport_missing', 'no passport header');
    throw new PassportError('passport_malformed', 'more than one passport header');
  }
  if (typeof value !== 'string') throw new PassportError('passport_malformed', 'passport header is not a string');
  if (value.includes(',')) throw new PassportError('passport_malformed', 'more than one passport header');
  const token = value.trim();
  if (token === '') throw new PassportError('passport_malformed', 'empty passport header');
  return token;
}
