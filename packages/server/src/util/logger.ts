import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type { build as PrettyBuild } from 'pino-pretty';
import { StoreUnavailableError } from '../errors/gatehouse-error.js';

export type { Logger };

/** Paths never written to a log, whatever logs them. */
export const REDACT_PATHS = [
  'password',
  'current_password',
  'new_password',
  'token',
  'access_token',
  'refresh_token',
  'csrf_token',
  '*.password',
  '*.token',
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-passport"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
];

/** Codes of an expected outage (a store refused, timed out, shut down, or our breaker refused): no stack. */
const OUTAGE_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNABORTED|ECONNCLOSED|ECIRCUITOPEN|ENOSPC|EDQUOT|SQLITE_FULL|SQLITE_BUSY|08...|57P0[123]|53...)$/;
/** Messages of pg and pg-pool for a connection that timed out or ended (they carry no code). */
const OUTAGE_MESSAGES = /connection terminated|timeout exceeded when trying to connect|connection timeout|query read timeout|connection is closed|stream isn't writeable/i;
/** Own fields of driver errors worth keeping beside message and code (never values of the data). */
const EXTRA_FIELDS = ['status', 'severity', 'constraint', 'table', 'column', 'routine', 'syscall', 'errno'] as const;

function codeOf(e: { code?: unknown }): string | number | undefined {
  return typeof e.code === 'string' || typeof e.code === 'number' ? e.code : undefined;
}

function isExpectedOutage(err: object): boolean {
  if (err instanceof StoreUnavailableError) return true;
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  const code = codeOf(e);
  if (code !== undefined && OUTAGE_CODES.test(String(code))) return true;
  if (e.name === 'CircuitOpenError' || e.name === 'ProbeTimeoutError') return true;
  return typeof e.message === 'string' && OUTAGE_MESSAGES.test(e.message);
}

/**
 * The `err` serializer: type (the error's name), message and code always; the stack only for
 * what is not an expected store outage (refused, timed out, breaker open, disk full: those are
 * logged as state changes, not as faults); the cause chain (three deep) and AggregateError's
 * members the same way. A plain object with a message (not an Error) keeps its message and code
 * and gets no empty stack.
 */
export function serializeError(err: unknown, depth = 0, expected = false): unknown {
  if (typeof err !== 'object' || err === null) return err;
  const e = err as { message?: unknown; stack?: unknown; cause?: unknown; name?: unknown } & Record<string, unknown>;
  if (!(err instanceof Error) && typeof e.message !== 'string') return err;
  const quiet = expected || isExpectedOutage(err);
  const out: Record<string, unknown> = {};
  if (err instanceof Error) out.type = err.name;
  out.message = typeof e.message === 'string' ? e.message : String(err);
  const code = codeOf(err as { code?: unknown });
  if (code !== undefined) out.code = code;
  for (const k of EXTRA_FIELDS) if (typeof e[k] === 'string' || typeof e[k] === 'number') out[k] = e[k];
  if (!quiet && typeof e.stack === 'string') out.stack = e.stack;
  if (depth < 3) {
    if (e.cause !== undefined && e.cause !== err) out.cause = serializeError(e.cause, depth + 1, quiet);
    if (err instanceof AggregateError) out.errors = err.errors.slice(0, 3).map((x: unknown) => serializeError(x, depth + 1, quiet));
  }
  return out;
}

export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * The format lines are written in: `auto` is pretty (colored, one readable line per event) when
 * the log stream is a terminal and not under a test runner, JSON otherwise (files, pipes, log
 * collectors); `json` and `pretty` force one.
 */
export function resolveLogFormat(format: LogFormat, isTTY: boolean | undefined, env: NodeJS.ProcessEnv = process.env): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  if (env.VITEST !== undefined || env.NODE_ENV === 'test') return 'json';
  return isTTY === true ? 'pretty' : 'json';
}

/**
 * The process logger. Lines go to `destination` (default: standard error, fd 2). JSON lines carry
 * `time` as an ISO 8601 string and `level` as its name; the pretty format (pino-pretty, in
 * process and synchronous) is for people at a terminal. A given destination gets JSON unless
 * `format` says pretty.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, format: LogFormat = 'auto'): Logger {
  const pretty = resolveLogFormat(format, destination === undefined ? process.stderr.isTTY : false) === 'pretty';
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: (err: unknown) => serializeError(err) },
      ...(pretty ? {} : { timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label: string) => ({ level: label }) } }),
    },
    pretty
      ? // Loaded only for a terminal: CLI commands and servers logging JSON never pay for it.
        (createRequire(import.meta.url)('pino-pretty') as { build: typeof PrettyBuild }).build({ destination: destination ?? 2, colorize: destination === undefined, translateTime: 'SYS:HH:MM:ss.l', sync: true })
      : // eslint-disable-next-line @typescript-eslint/no-explicit-any
        ((destination as any) ?? pino.destination(2)),
  );
}
