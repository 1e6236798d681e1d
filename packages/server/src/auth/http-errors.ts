import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError, PROBLEM_CONTENT_TYPE, toProblem } from '../errors/index.js';
import { noteRefusal } from '../stores/health/outage-log.js';
import type { StoreHealth } from '../stores/health/store-health.js';
import type { Logger } from '../util/logger.js';

/** One ajv error, as Fastify attaches them to FST_ERR_VALIDATION. */
interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

function fieldName(issue: ValidationIssue): string {
  const path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (issue.keyword === 'additionalProperties') return [path, String(issue.params.additionalProperty)].filter(Boolean).join('.');
  if (issue.keyword === 'required') return [path, String(issue.params.missingProperty)].filter(Boolean).join('.');
  return path;
}

/** A detail that names the field and what is wrong with it, without echoing its value. */
export function describeValidation(issues: ValidationIssue[], context: string | undefined): string {
  const issue = issues[0];
  const where = context === 'params' ? 'path parameter' : context === 'querystring' ? 'query parameter' : 'field';
  if (!issue) return 'The request body is not valid.';
  const field = fieldName(issue);
  const p = issue.params;
  switch (issue.keyword) {
    case 'additionalProperties':
      return `Unknown ${where} "${field}".`;
    case 'required':
      return `Missing ${where} "${field}".`;
    case 'type':
      return field ? `The ${where} "${field}" must be of type ${String(p.type)}.` : `The body must be a JSON ${String(p.type)}.`;
    case 'minLength':
      return `The ${where} "${field}" must be at least ${String(p.limit)} characters long.`;
    case 'maxLength':
      return `The ${where} "${field}" must be at most ${String(p.limit)} characters long.`;
    default:
      return field ? `The ${where} "${field}" is not valid.` : 'The request body is not valid.';
  }
}

/** Maps Fastify's own errors (parsing, limits, validation) to registry codes. */
export function toGatehouseError(err: unknown, bodyLimit: number): GatehouseError {
  if (err instanceof GatehouseError) return err;
  const fe = err as Partial<FastifyError> & { validation?: ValidationIssue[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const code = fe.validationContext === 'body' ? 'invalid_body' : 'invalid_request';
    return new GatehouseError(code, { detail: describeValidation(fe.validation, fe.validationContext), cause: err });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatehouseError('unsupported_media_type', { detail: 'Send the body as application/json.', cause: err });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatehouseError('payload_too_large', { detail: `The request body is larger than ${bodyLimit} bytes.`, cause: err });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatehouseError('invalid_body', { detail: 'The request body is not valid JSON.', cause: err });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatehouseError('invalid_request', { detail: 'The Content-Length does not match the body.', cause: err });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new GatehouseError('not_found', { cause: err });
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new GatehouseError('invalid_request', { detail: 'The request URL is not valid.', cause: err });
  }
  // Any other client error Fastify or a plugin raises: keep its class, never its message.
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status === 404) return new GatehouseError('not_found', { cause: err });
  if (status === 405) return new GatehouseError('method_not_allowed', { cause: err });
  if (status === 413) return new GatehouseError('payload_too_large', { cause: err });
  if (status === 415) return new GatehouseError('unsupported_media_type', { cause: err });
  if (status === 431) return new GatehouseError('headers_too_large', { cause: err });
  if (status >= 400 && status < 500) return new GatehouseError('invalid_request', { cause: err });
  return new GatehouseError('internal', { cause: err });
}

export function sendProblem(reply: FastifyReply, err: GatehouseError): FastifyReply {
  const { problem, headers } = toProblem(err);
  // no-store here too: framework errors (bad URL) bypass the onSend hook.
  return reply
    .code(problem.status)
    .headers(headers)
    .header('cache-control', 'no-store')
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problem));
}

/** For Fastify's `frameworkErrors` option (bad URL encoding, over-long path parameters). */
export function frameworkErrorHandler(bodyLimit: number) {
  return (err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void => {
    void sendProblem(reply, toGatehouseError(err, bodyLimit));
  };
}

/** For Fastify's `clientErrorHandler` option: malformed HTTP gets a problem+json, then the socket closes. */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return;
  const ge = err.code === 'HPE_HEADER_OVERFLOW' ? new GatehouseError('headers_too_large') : new GatehouseError('invalid_request');
  const body = JSON.stringify(toProblem(ge).problem);
  socket.end(
    `HTTP/1.1 ${ge.status} ${ge.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Logs a 5xx of the auth service: a store outage (a sign-in refused while PostgreSQL is down)
 * is expected and logged once per state change by `StoreHealth`, so here it is only counted and
 * goes to debug; anything else is a fault, logged at error with its stack.
 */
export function logServerError(logger: Logger, health: StoreHealth | undefined, ge: GatehouseError, request: FastifyRequest): void {
  if (ge.status < 500) return;
  if (health !== undefined && noteRefusal(health, logger, ge, { method: request.method, url: request.url })) return;
  logger.error({ err: ge.cause ?? ge, code: ge.code, method: request.method, url: request.url }, 'auth service request failed');
}

/** Every error and unknown route answers application/problem+json; 5xx are logged, never shown. */
export function installProblemHandlers(app: FastifyInstance, logger: Logger, bodyLimit: number, health?: StoreHealth): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const ge = toGatehouseError(err, bodyLimit);
    // `busy` is the hashing queue refusing at once under load: expected, counted and logged
    // (once a second) where it is decided (auth-context.ts), never an error line per request.
    if (ge.code !== 'busy') logServerError(logger, health, ge, request);
    return sendProblem(reply, ge);
  });
  // A known path with another method is 405 with Allow, never a silent 404: GET never
  // changes state, and a client that used the wrong method is told which ones exist.
  const known: Array<{ pattern: RegExp; method: string }> = [];
  app.addHook('onRoute', (route) => {
    const pattern = new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]\w*/g, '[^/]+')}/?$`);
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) known.push({ pattern, method });
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const q = request.url.indexOf('?');
    const path = q < 0 ? request.url : request.url.slice(0, q);
    const allow = [...new Set(known.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allow.length > 0) {
      return sendProblem(reply, new GatehouseError('method_not_allowed', { detail: `Use ${allow.join(' or ')}.`, headers: { allow: allow.join(', ') } }));
    }
    return sendProblem(reply, new GatehouseError('not_found'));
  });
}
