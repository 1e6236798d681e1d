import { GatehouseError } from '../../../errors/index.js';
import { DUPLICATE, type Exchange } from '../../exchange.js';

/**
 * The body stage, before contacting the upstream: 400 for an ambiguous length or a GET/HEAD
 * body, 413 by Content-Length, 415 by media type. Returns whether a body comes (the proxy stage
 * then streams it, counting a chunked one against the same limit).
 */
export function checkBody(ex: Exchange): boolean {
  const route = ex.route;
  let hasBody = ex.chunked;
  if (ex.contentLength !== undefined) {
    // Node's parser refuses both already; never let a framing ambiguity reach an upstream.
    if (ex.contentLength === DUPLICATE || ex.chunked) throw new GatehouseError('invalid_request', { detail: 'The request body has an ambiguous length.' });
    const n = Number(ex.contentLength);
    if (n > route.maxBodyBytes) {
      throw new GatehouseError('payload_too_large', { detail: `The request body is larger than ${route.maxBodyBytes} bytes.` });
    }
    if (n > 0) hasBody = true;
  }
  if (!hasBody) return false;
  const m = ex.req.method;
  // A body on GET/HEAD has no defined meaning (RFC 9110 §9.3.1): refused rather than dropped.
  if (m === 'GET' || m === 'HEAD') throw new GatehouseError('invalid_request', { detail: `A ${m} request must not have a body.` });
  const ct = ex.contentType;
  const semi = ct === undefined ? -1 : ct.indexOf(';');
  const media = ct === undefined ? '' : (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  if (!route.contentTypes.has(media)) {
    throw new GatehouseError('unsupported_media_type', { detail: `Send the body as ${[...route.contentTypes].join(' or ')}.` });
  }
  return true;
}
