/** What tests read back of the JSON log: one object per line. No vitest import (plain helpers). */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from './logger.js';

export type LogLine = Record<string, unknown>;

/** A stream that parses every JSON log line written to it into `lines`. */
export function jsonLineSink(lines: LogLine[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
}

/** A JSON logger at `level` and the lines it writes. */
export function captureLogs(level: string): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { logger: createLogger(level, jsonLineSink(lines)), lines };
}
