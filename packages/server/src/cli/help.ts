export const VERSION = '0.1.0';

export const HELP = `gatehouse ${VERSION} — edge authentication for microservices

Usage:
  gatehouse start [--port N] [--host H] [--data-dir DIR] [--public-url URL]
      Run everything on this machine: the public gateway, the auth service and the
      demo services (notes, home, admin), on the embedded SQLite store.
  gatehouse users add <username> [--role ROLE]...
      Create a user. The password is asked for (or read from stdin when piped).
  gatehouse users grant <username> <role>      Give a user a role (e.g. admin).
  gatehouse users revoke <username> <role>     Take a role away.
  gatehouse users list                         List users and their roles.
  gatehouse keys list                          List signing keys and their state.
  gatehouse keys rotate                        Publish a new signing key; it signs after
                                               every verifier can know it.
  gatehouse --help | --version

Environment (see docs/configuration.md for every key):
  GATEHOUSE_PORT        public port (default 8080; 0 picks a free one)
  GATEHOUSE_HOST        bind address (default 127.0.0.1)
  GATEHOUSE_PUBLIC_URL  URL users reach the gateway at (Secure cookies when https)
  GATEHOUSE_DATA_DIR    where data lives (default ./data)
  GATEHOUSE_MASTER_KEY  key that encrypts signing keys (default: generated into the data dir)
  GATEHOUSE_CONFIG      JSON config file with routes and settings
  GATEHOUSE_LOG_LEVEL   fatal|error|warn|info|debug|trace|silent (default info)

Examples:
  npx gatehouse start
  echo 'a long passphrase' | npx gatehouse users add alice --role admin
`;
