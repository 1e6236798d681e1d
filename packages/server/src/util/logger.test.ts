import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GatehouseError, StoreUnavailableError } from '../errors/index.js';
import { CircuitOpenError } from '../stores/health/database-health.js';
import { createLogger, resolveLogFormat } from './logger.js';
import { captureLogs } from './log-capture.test-helpers.js';

const capture = (): ReturnType<typeof captureLogs> => captureLogs('debug');

describe('logger: the err serializer', () => {
  it('a plain object with a message keeps its message and code (no "type":"Object", no empty stack)', () => {
    const { logger, lines } = capture();
    logger.warn({ err: { message: 'connect ECONNREFUSED 127.0.0.1:6379', code: 'ECONNREFUSED' } }, 'x');
    expect(lines[0]!.err).toEqual({ message: 'connect ECONNREFUSED 127.0.0.1:6379', code: 'ECONNREFUSED' });
  });

  it('an expected store outage: message, code and cause, no stack at any depth', () => {
    const { logger, lines } = capture();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
    logger.warn({ err: new StoreUnavailableError('sessions', refused) }, 'x');
    logger.warn({ err: new StoreUnavailableError('users', new CircuitOpenError('PostgreSQL 127.0.0.1:5432/app')) }, 'y');
    expect(lines[0]!.err).toEqual({
      type: 'StoreUnavailableError',
      message: 'The sessions store is unavailable; try again shortly.',
      code: 'unavailable',
      status: 503,
      cause: { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:5432', code: 'ECONNREFUSED', syscall: 'connect', errno: -111 },
    });
    expect(lines[1]!.err).toMatchObject({ code: 'unavailable', cause: { type: 'CircuitOpenError', code: 'ECIRCUITOPEN' } });
    expect(JSON.stringify(lines)).not.toContain('stack');
  });

  it('a fault keeps its stack (and its cause chain), with message and code', () => {
    const { logger, lines } = capture();
    const err = new GatehouseError('internal', { cause: new TypeError('x is undefined') });
    logger.error({ err }, 'boom');
    const out = lines[0]!.err as Record<string, unknown>;
    expect(out).toMatchObject({ type: 'GatehouseError', message: 'Internal error', code: 'internal', cause: { type: 'TypeError', message: 'x is undefined' } });
    expect(out.stack).toEqual(expect.stringContaining('GatehouseError'));
    expect((out.cause as Record<string, unknown>).stack).toEqual(expect.stringContaining('TypeError'));
  });
});

describe('logger: format', () => {
  it('a JSON line carries time as an ISO 8601 string and level as its name', () => {
    const { logger, lines } = capture();
    logger.info({ event: 'x' }, 'hello');
    logger.warn('careful');
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'hello', event: 'x' });
    expect(lines[1]!.level).toBe('warn');
    expect(typeof lines[0]!.time).toBe('string');
    expect(new Date(lines[0]!.time as string).toISOString()).toBe(lines[0]!.time);
  });

  it('auto is pretty only on a terminal and never under a test runner; json and pretty force one', () => {
    expect(resolveLogFormat('auto', true, {})).toBe('pretty');
    expect(resolveLogFormat('auto', false, {})).toBe('json');
    expect(resolveLogFormat('auto', undefined, {})).toBe('json');
    expect(resolveLogFormat('auto', true, { VITEST: 'true' })).toBe('json');
    expect(resolveLogFormat('auto', true, { NODE_ENV: 'test' })).toBe('json');
    expect(resolveLogFormat('json', true, {})).toBe('json');
    expect(resolveLogFormat('pretty', false, { VITEST: 'true' })).toBe('pretty');
  });

  it('pretty writes readable lines (level name and message, no JSON) and still redacts', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString('utf8');
        done();
      },
    });
    const logger = createLogger('info', sink, 'pretty');
    logger.info({ password: 'hunter2-secret' }, 'signed in');
    expect(out).toContain('INFO');
    expect(out).toContain('signed in');
    expect(out).not.toContain('hunter2-secret');
    expect(() => JSON.parse(out) as unknown).toThrow();
  });
});
