#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { GatehouseError } from '../errors/index.js';
import { HELP, VERSION } from './help.js';
import { runKeys } from './keys-command.js';
import { runAuthCommand, runGatewayCommand, runStart } from './start-command.js';
import { runUsers } from './users-command.js';

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'public-url': { type: 'string' },
      role: { type: 'string', multiple: true },
    },
  });
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command || command === 'help') {
    process.stdout.write(HELP);
    return values.help || command === 'help' ? 0 : 2;
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got "${values.port}".`);
    port = Number(values.port);
  }
  // `gatehouse auth --port N` sets the auth service's port; every other command's is the gateway's.
  const config = loadConfig({
    overrides: {
      ...(port !== undefined ? (command === 'auth' ? { authPort: port } : { port }) : {}),
      ...(values.host ? { host: values.host } : {}),
      ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
      ...(values['public-url'] ? { publicUrl: values['public-url'] } : {}),
    },
  });
  switch (command) {
    case 'start':
      return runStart(config);
    case 'gateway':
      return runGatewayCommand(config);
    case 'auth':
      return runAuthCommand(config);
    case 'users':
      return runUsers(config, rest, values.role ?? []);
    case 'keys':
      return runKeys(config, rest);
    default:
      throw new UsageError(`Unknown command "${command}". Run "gatehouse --help" for the commands.`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof ConfigError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (err as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      process.stderr.write(`gatehouse: ${(err as Error).message}\n`);
      process.exitCode = 2;
    } else if (err instanceof GatehouseError) {
      process.stderr.write(`gatehouse: ${err.detail ?? err.message} (${err.code})\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`gatehouse: ${(err as Error).message ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
