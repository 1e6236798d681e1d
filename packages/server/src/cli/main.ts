#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { GatehouseError } from '../errors/index.js';
import { nearest } from '../util/nearest.js';
import { BackupRefused } from './backup-refused.js';
import { VERSION } from '../util/version.js';
import { COMMANDS, HELP } from './help.js';

class UsageError extends Error {}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  'public-url': { type: 'string' },
  role: { type: 'string', multiple: true },
  force: { type: 'boolean' },
  // gatehouse users delete
  yes: { type: 'boolean' },
  workers: { type: 'string' },
  // gatehouse clients ...
  name: { type: 'string' },
  type: { type: 'string' },
  grants: { type: 'string' },
  scopes: { type: 'string' },
  audiences: { type: 'string' },
  service: { type: 'string' },
  overlap: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The options only `gatehouse clients` takes. */
const CLIENT_OPTIONS = ['name', 'type', 'grants', 'scopes', 'audiences', 'service', 'overlap', 'json'] as const;

const SEE_HELP = 'Run "gatehouse --help" for usage.';

/**
 * Refuses an option the CLI does not know, in one line, naming the nearest known one. (Node's own
 * message suggests putting the option after "--", which is no help here.)
 */
function refuseUnknownOptions(argv: string[]): void {
  const { tokens } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option' || Object.prototype.hasOwnProperty.call(OPTIONS, t.name)) continue;
    const near = t.name.length > 1 ? nearest(t.name, Object.keys(OPTIONS)) : undefined;
    throw new UsageError(`unknown option ${t.rawName}${near !== undefined ? ` (did you mean --${near}?)` : ''}. ${SEE_HELP}`);
  }
}

async function main(argv: string[]): Promise<number> {
  refuseUnknownOptions(argv);
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command || command === 'help') {
    process.stdout.write(HELP);
    return values.help || command === 'help' ? 0 : 2;
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    const near = nearest(command, COMMANDS);
    throw new UsageError(`unknown command "${command}"${near !== undefined ? ` (did you mean "${near}"?)` : ''}. ${SEE_HELP}`);
  }
  if (values.workers !== undefined && command !== 'start' && command !== 'gateway') throw new UsageError(`--workers applies to "gatehouse start" and "gatehouse gateway" only. ${SEE_HELP}`);
  if (values.force && command !== 'backup') throw new UsageError(`--force applies to "gatehouse backup" only. ${SEE_HELP}`);
  if (values.yes && !(command === 'users' && rest[0] === 'delete')) throw new UsageError(`--yes applies to "gatehouse users delete" only. ${SEE_HELP}`);
  const clientOption = CLIENT_OPTIONS.find((o) => values[o] !== undefined);
  if (clientOption !== undefined && command !== 'clients') throw new UsageError(`--${clientOption} applies to "gatehouse clients" only. ${SEE_HELP}`);
  let port: number | undefined;
  if (values.port !== undefined) {
    if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got "${values.port}". ${SEE_HELP}`);
    port = Number(values.port);
  }
  // `gatehouse auth --port N` sets the auth service's port; every other command's is the gateway's.
  const config = loadConfig({
    overrides: {
      ...(port !== undefined ? (command === 'auth' ? { authPort: port } : { port }) : {}),
      ...(values.host ? { host: values.host } : {}),
      ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
      ...(values['public-url'] ? { publicUrl: values['public-url'] } : {}),
      ...(values.workers !== undefined ? { workers: values.workers } : {}),
    },
  });
  // Each command's code is loaded when it runs: a usage error or --help answers at once.
  switch (command) {
    case 'start':
      return (await import('./start-command.js')).runStart(config);
    case 'gateway':
      return (await import('./start-command.js')).runGatewayCommand(config);
    case 'auth':
      return (await import('./start-command.js')).runAuthCommand(config);
    case 'users':
      return (await import('./users-command.js')).runUsers(config, rest, values.role ?? [], { yes: values.yes === true });
    case 'keys':
      return (await import('./keys-command.js')).runKeys(config, rest);
    case 'clients':
      return (await import('./clients-command.js')).runClients(config, rest, {
        name: values.name,
        type: values.type,
        grants: values.grants,
        scopes: values.scopes,
        audiences: values.audiences,
        service: values.service,
        overlap: values.overlap,
        json: values.json === true,
      });
    case 'backup':
      return (await import('./backup-command.js')).runBackup(config, rest, { force: values.force === true });
    case 'restore':
      return (await import('./backup-command.js')).runRestore(config, rest);
    default:
      throw new UsageError(`unknown command "${command}". ${SEE_HELP}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`gatehouse: ${(err as Error).message}\n`);
      process.exitCode = 2;
    } else if (typeof (err as { code?: unknown }).code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS_')) {
      // Node's message for a missing value may run over several lines: its first says it.
      process.stderr.write(`gatehouse: ${(err as Error).message.split('\n')[0]!.replace(/\.$/, '')}. ${SEE_HELP}\n`);
      process.exitCode = 2;
    } else if (err instanceof BackupRefused) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      process.exitCode = 1;
    } else if (err instanceof GatehouseError) {
      process.stderr.write(`gatehouse: ${err.detail ?? err.message} (${err.code})\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`gatehouse: ${(err as Error).message ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
