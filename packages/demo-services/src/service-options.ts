import type { PassportVerifierOptions } from '@gatehouse/sdk';

export interface ServiceOptions {
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 (the default) picks a free one. */
  port?: number;
  /** Where the gateway's keys come from and whose passports to trust; the audience is the service's name. */
  verifier: Omit<PassportVerifierOptions, 'audience'>;
  /** notes only: the directory of its own SQLite file `notes.db`. Without it, notes live in memory. */
  dataDir?: string;
  /** false: no logging. Default: warnings and errors only. */
  logger?: boolean;
}

export interface RunningService {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  close(): Promise<void>;
}
