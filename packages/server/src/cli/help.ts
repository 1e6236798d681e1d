import { CONFIG_FILE_ENV, ENV_KEYS } from '../config/schema.js';
import { VERSION } from '../util/version.js';


/** The commands `gatehouse` runs; each has its line in HELP (cli tests check). */
export const COMMANDS = ['start', 'gateway', 'auth', 'users', 'keys', 'clients', 'backup', 'restore', 'help'] as const;

const WIDTH = 100;
const NAME_COLUMN = 34;

/** `text` in lines of at most WIDTH columns, every line after the first indented to the doc column. */
function wrap(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && NAME_COLUMN + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(NAME_COLUMN)}`);
}

/**
 * The environment variables, from config/schema.ts: each with the key it sets, its line of
 * documentation and its default.
 */
export function environmentHelp(): string {
  const row = (name: string, text: string) => `  ${name.padEnd(NAME_COLUMN - 3)} ${wrap(text)}\n`;
  let out = 'Environment (each sets the config key named first; docs/configuration.md has every key):\n';
  out += row(CONFIG_FILE_ENV.name, CONFIG_FILE_ENV.doc);
  for (const { env, path, leaf } of ENV_KEYS) {
    const values = leaf.values ? ` One of ${leaf.values.join('|')}.` : '';
    const fallback = leaf.default === null ? '' : ` Default: ${JSON.stringify(leaf.default)}.`;
    out += row(env, `${path}: ${leaf.doc}${values}${fallback}`);
  }
  return out;
}

export const HELP = `gatehouse ${VERSION} — edge authentication for microservices

Usage:
  gatehouse start [--port N] [--host H] [--data-dir DIR] [--public-url URL] [--workers N|auto]
      Run everything on this machine: the public gateway, the auth service and the
      demo services (notes, home, admin), on the embedded SQLite store — or, with
      GATEHOUSE_DATABASE_URL and GATEHOUSE_REDIS_URL, on PostgreSQL and Redis.
      --workers N: N gateway processes share the port (auto: one per CPU core;
      default 1); the auth service stays in the first process.
  gatehouse gateway [--port N] [--host H] [--public-url URL] [--workers N|auto]
      Run the public gateway alone (and the demo services), forwarding /auth/* to the
      auth service named by GATEHOUSE_AUTH_URL (required). Run as many as you like on
      one PostgreSQL and one Redis; no sticky sessions. --workers N: N processes.
  gatehouse auth [--port N] [--host H]
      Run the auth service alone (default 127.0.0.1, port GATEHOUSE_AUTH_PORT or a free
      one). Keep it on the internal network: only the gateways talk to it.
  gatehouse users add <username> [--role ROLE]...
      Create a user. The password is asked for (or read from stdin when piped).
  gatehouse users grant <username> <role>      Give a user a role (e.g. admin).
  gatehouse users revoke <username> <role>     Take a role away.
  gatehouse users list                         List users, their roles and whether disabled.
  gatehouse users mfa reset <username>         Remove a user's app, recovery codes and passkeys
                                               (support: a lost phone); the password alone signs in.
  gatehouse users disable <username>           Refuse every sign-in and credential of the user now
                                               (sessions end; API tokens are kept, refused).
  gatehouse users enable <username>            Let a disabled user sign in again (API tokens work).
  gatehouse users delete <username> [--yes]    Delete the user and all their data (asks to type the
                                               name again unless --yes); see docs/data-deletion.md.
  gatehouse users signout-all <username>       End every session of the user on every device.
  gatehouse users reset-link <username>        Print a password reset link, once (no SMTP needed;
                                               recovery.resetTtlMin, single use).
  gatehouse users require-password-change <username>
                                               Ask for a new password at the next sign-in.
  gatehouse keys list                          List signing keys and their state.
  gatehouse keys rotate                        Publish a new signing key; it signs after
                                               every verifier can know it.
  gatehouse clients add <id> --name NAME --type public|confidential --grants G,... --scopes S,...
                         [--audiences A,...] [--service NAME]
      Register an OAuth client (TV/CLI app: public; service: confidential). Grants:
      device_code, refresh_token, client_credentials, token-exchange. A confidential
      client's secret is printed once. --service: the audience of the passports a
      confidential client receives (default: its id). See docs/clients.md, docs/delegation.md.
  gatehouse clients update <id> [--name NAME] [--grants G,...] [--scopes S,...]
                         [--audiences A,...] [--service NAME]
      Change a client (checked like add); the type and the secret stay. --service: the
      audience of the passports a confidential client receives (default: its id).
  gatehouse clients list [--json]              List OAuth clients.
  gatehouse clients rotate-secret <id> [--overlap 24h]
      Print a new secret once; the old one stays valid for the overlap (default
      clients.secretOverlapSec). Units: s, m, h, d; 0 ends it now.
  gatehouse clients remove <id>
      Remove an OAuth client: its tokens are refused at every gateway and the device
      sessions signed in through it end (gone from their users' device lists).
  gatehouse backup <file> [--force]
      Copy the embedded SQLite database to <file> (mode 0600), safely while Gatehouse
      runs. Keep the master key (data dir's master.key, or GATEHOUSE_MASTER_KEY) with it.
      With PostgreSQL, use pg_dump instead.
  gatehouse restore <file>
      Check a backup and put it in place of the data dir's database (Gatehouse must be
      stopped); the replaced database is kept as gatehouse.db.before-restore-<time>.
  gatehouse --help | --version

${environmentHelp()}
Examples:
  gatehouse start
  echo 'a long passphrase' | gatehouse users add alice --role admin
  gatehouse clients add reports --name Reports --type confidential --grants client_credentials \\
    --scopes notes:read
  gatehouse backup /var/backups/gatehouse-$(date +%F).db
`;
