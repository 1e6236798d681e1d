export const VERSION = '0.1.0';

/** The commands `gatehouse` runs; each has its line in HELP (cli tests check). */
export const COMMANDS = ['start', 'gateway', 'auth', 'users', 'keys', 'backup', 'restore', 'help'] as const;

export const HELP = `gatehouse ${VERSION} — edge authentication for microservices

Usage:
  gatehouse start [--port N] [--host H] [--data-dir DIR] [--public-url URL]
      Run everything on this machine: the public gateway, the auth service and the
      demo services (notes, home, admin), on the embedded SQLite store — or, with
      GATEHOUSE_DATABASE_URL and GATEHOUSE_REDIS_URL, on PostgreSQL and Redis.
  gatehouse gateway [--port N] [--host H] [--public-url URL]
      Run the public gateway alone (and the demo services), forwarding /auth/* to the
      auth service named by GATEHOUSE_AUTH_URL (required). Run as many as you like on
      one PostgreSQL and one Redis; no sticky sessions.
  gatehouse auth [--port N] [--host H]
      Run the auth service alone (default 127.0.0.1, port GATEHOUSE_AUTH_PORT or a free
      one). Keep it on the internal network: only the gateways talk to it.
  gatehouse users add <username> [--role ROLE]...
      Create a user. The password is asked for (or read from stdin when piped).
  gatehouse users grant <username> <role>      Give a user a role (e.g. admin).
  gatehouse users revoke <username> <role>     Take a role away.
  gatehouse users list                         List users and their roles.
  gatehouse keys list                          List signing keys and their state.
  gatehouse keys rotate                        Publish a new signing key; it signs after
                                               every verifier can know it.
  gatehouse backup <file> [--force]
      Copy the embedded SQLite database to <file> (mode 0600), safely while Gatehouse
      runs. Keep the master key (data dir's master.key, or GATEHOUSE_MASTER_KEY) with it.
      With PostgreSQL, use pg_dump instead.
  gatehouse restore <file>
      Check a backup and put it in place of the data dir's database (Gatehouse must be
      stopped); the replaced database is kept as gatehouse.db.before-restore-<time>.
  gatehouse --help | --version

Environment (see docs/configuration.md for every key):
  GATEHOUSE_PORT        public port (default 8080; 0 picks a free one)
  GATEHOUSE_HOST        bind address (default 127.0.0.1)
  GATEHOUSE_PUBLIC_URL  URL users reach the gateway at (Secure cookies when https)
  GATEHOUSE_DATA_DIR    where data lives (default ./data)
  GATEHOUSE_MASTER_KEY  key that encrypts signing keys (default: generated into the data dir)
  GATEHOUSE_CONFIG      JSON config file with routes and settings
  GATEHOUSE_LOG_LEVEL   fatal|error|warn|info|debug|trace|silent (default info)
  GATEHOUSE_LOG_FORMAT  auto|json|pretty (default auto: pretty on a terminal)
  GATEHOUSE_ADMIN_PORT  internal listener for /metrics and the detailed /readyz (loopback)
  GATEHOUSE_DATABASE_URL  PostgreSQL for every store (needs GATEHOUSE_MASTER_KEY)
  GATEHOUSE_REDIS_URL     Redis: revocation feed, hot copy of sessions, rate limits
  GATEHOUSE_AUTH_URL      the auth service, for "gatehouse gateway"
  GATEHOUSE_AUTH_PORT     port of "gatehouse auth" (default 0: a free one)

Examples:
  gatehouse start
  echo 'a long passphrase' | gatehouse users add alice --role admin
  gatehouse backup /var/backups/gatehouse-$(date +%F).db
`;
