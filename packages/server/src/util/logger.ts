import { pino, type Logger } from 'pino';

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

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (destination as any) ?? pino.destination(2),
  );
}
