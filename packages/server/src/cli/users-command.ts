import { deleteUser, disableUser, enableUser, endAllSessions, type Actor } from '../auth/admin/lifecycle.js';
import { closeAuthContext, createAuthContext } from '../auth/auth-context.js';
import { canonicalUsername } from '../auth/policy/username.js';
import { createUser, findUser, grantRole, resetMfa, revokeRole } from '../auth/user-admin.js';
import { createResetLink, requirePasswordChange } from '../auth/recovery/admin.js';
import type { GatehouseConfig } from '../config/types.js';
import { openDeps } from '../start/open-deps.js';
import { createLogger } from '../util/logger.js';
import { nearest } from '../util/nearest.js';
import { readLine, readPassword } from './read-password.js';
import { isDisabled } from '../stores/types.js';

const SUBCOMMANDS = ['add', 'grant', 'revoke', 'list', 'mfa', 'disable', 'enable', 'delete', 'signout-all', 'reset-link', 'require-password-change'];
const USAGE =
  'Usage: gatehouse users add <username> [--role ROLE]... | users grant <username> <role> | users revoke <username> <role> | users list | users mfa reset <username> | users disable <username> | users enable <username> | users delete <username> [--yes] | users signout-all <username>' +
  ' | users reset-link <username> | users require-password-change <username>';
/** What the lifecycle commands record as the actor (`by: 'cli'` in the user's activity). */
const CLI_ACTOR: Actor = { adminId: null };

/** How revocations reach running gateways from this process (a line for the operator). */
function reachLine(config: GatehouseConfig): string {
  const poll = config.revocations.pollIntervalMs;
  return config.redisUrl !== null
    ? 'Every gateway refuses them at once (revocation feed; within seconds by polling for a gateway that was away from Redis).\n'
    : poll > 0
      ? `Running gateways refuse them within revocations.pollIntervalMs (${poll} ms); restarted ones at once.\n`
      : `Running gateways refuse them within session.cacheTtlMs (${config.session.cacheTtlMs} ms) (revocations.pollIntervalMs is 0); restarted ones at once.\n`;
}

/** `gatehouse users disable|enable|delete|signout-all <name>` (issue 18): the admin functions, run as the CLI. */
async function runLifecycle(config: GatehouseConfig, sub: string, name: string, options: { yes: boolean }): Promise<number> {
  // Redis: these publish revocations, which every running gateway must hear at once.
  const opened = await openDeps(config, { logger: createLogger('silent'), redis: true });
  try {
    const { deps } = opened;
    const user = await findUser(deps, name);
    switch (sub) {
      case 'disable': {
        const wasDisabled = isDisabled(user);
        await disableUser(deps, user.id, CLI_ACTOR);
        process.stdout.write(`${user.username} is ${wasDisabled ? 'still' : 'now'} disabled: every sign-in is refused as a wrong password, their sessions ended, and their access and API tokens are refused (API tokens are kept and work again after "gatehouse users enable").\n`);
        process.stdout.write(reachLine(config));
        return 0;
      }
      case 'enable': {
        await enableUser(deps, user.id, CLI_ACTOR);
        process.stdout.write(`${user.username} may sign in again; their API tokens work again. Sessions ended by the disable stay ended.\n`);
        return 0;
      }
      case 'signout-all': {
        const ended = await endAllSessions(deps, user.id, CLI_ACTOR);
        process.stdout.write(`Ended ${ended} session${ended === 1 ? '' : 's'} of ${user.username}; every access token issued before now is refused.\n`);
        process.stdout.write(reachLine(config));
        return 0;
      }
      default: {
        if (!options.yes) {
          const typed = await readLine(`This deletes ${user.username} and every session, token, sign-in method and second factor of theirs, for good. Type the username again to confirm: `);
          if (typed.trim() === '' || canonicalUsername(typed.trim()) !== user.usernameCanonical) {
            process.stderr.write('gatehouse: the name typed does not match; nothing was deleted. (Pass --yes to skip the question in scripts.)\n');
            return 1;
          }
        }
        await deleteUser(deps, user.id, CLI_ACTOR);
        const days = config.users.deletedUsernameQuarantineDays;
        process.stdout.write(`Deleted ${user.username} (id ${user.id}) and all their data; their security events are kept under a pseudonym (docs/data-deletion.md).\n`);
        process.stdout.write(days > 0 ? `The name stays unavailable for sign-up and rename for ${days} day${days === 1 ? '' : 's'} (users.deletedUsernameQuarantineDays).\n` : 'The name is free to take again now (users.deletedUsernameQuarantineDays is 0).\n');
        return 0;
      }
    }
  } finally {
    await opened.close();
  }
}

/** `gatehouse users ...`: works on the same data directory as a running `gatehouse start`. */
export async function runUsers(config: GatehouseConfig, args: string[], roles: string[], options: { yes: boolean } = { yes: false }): Promise<number> {
  const [sub, name, role] = args;
  if ((sub === 'disable' || sub === 'enable' || sub === 'delete' || sub === 'signout-all') && name && args.length === 2) {
    return runLifecycle(config, sub, name, options);
  }
  if (sub === 'add' && name && args.length === 2) {
    const password = await readPassword();
    const opened = await openDeps(config, { logger: createLogger('silent'), redis: false });
    // This command's own password hasher (the server's is in another process).
    const auth = createAuthContext(opened.deps);
    try {
      const user = await createUser(auth, { username: name, password, roles });
      process.stdout.write(`Created user ${user.username} (id ${user.id})${user.roles.length ? ` with roles ${user.roles.join(', ')}` : ''}.\n`);
      return 0;
    } finally {
      await closeAuthContext(auth);
      await opened.close();
    }
  }
  if ((sub === 'grant' || sub === 'revoke') && name && role && args.length === 3) {
    const opened = await openDeps(config, { logger: createLogger('silent'), redis: false });
    try {
      const user = sub === 'grant' ? await grantRole(opened.deps, name, role) : await revokeRole(opened.deps, name, role);
      process.stdout.write(`${user.username} now has roles: ${user.roles.join(', ') || '(none)'}.\n`);
      process.stdout.write('Running gateways pick the change up within session.cacheTtlMs (default 30 s).\n');
      return 0;
    } finally {
      await opened.close();
    }
  }
  if (sub === 'mfa' && name === 'reset' && role && args.length === 3) {
    const opened = await openDeps(config, { logger: createLogger('silent'), redis: false });
    try {
      const done = await resetMfa(opened.deps, role);
      const what =
        done.totp || done.recoveryCodes > 0 || done.passkeys > 0
          ? `removed ${done.totp ? 'the authenticator app' : 'no authenticator app'}, ${done.recoveryCodes} recovery code(s) and ${done.passkeys} passkey(s)`
          : 'had no second factor';
      process.stdout.write(`${done.user.username}: ${what}. The password alone signs in now; the user can set up a new app from the account page.\n`);
      return 0;
    } finally {
      await opened.close();
    }
  }
  if ((sub === 'reset-link' || sub === 'require-password-change') && name && args.length === 2) {
    const opened = await openDeps(config, { logger: createLogger('silent'), redis: false });
    try {
      const user = await findUser(opened.deps, name);
      if (sub === 'reset-link') {
        // Shown once: only its hash is stored. Never logged.
        const { url, expiresAt } = await createResetLink(opened.deps, user.id, { adminId: null });
        process.stdout.write(`${url}\n`);
        process.stderr.write(
          `Reset link for ${user.username}: works once, until ${new Date(expiresAt).toISOString()}; a newer link replaces it. Give it to the user privately.` +
            `${config.publicUrl === null ? ' (publicUrl is not set: the link names the default local address; set GATEHOUSE_PUBLIC_URL.)' : ''}\n`,
        );
      } else {
        await requirePasswordChange(opened.deps, user.id, { adminId: null });
        process.stdout.write(`${user.username} must choose a new password at the next sign-in (the sign-in page leads there).\n`);
      }
      return 0;
    } finally {
      await opened.close();
    }
  }
  if (sub === 'list' && args.length === 1) {
    const opened = await openDeps(config, { logger: createLogger('silent'), redis: false });
    try {
      const users = await opened.deps.stores.users.list();
      if (users.length === 0) {
        process.stdout.write('No users yet. Create one with "gatehouse users add <name>".\n');
        return 0;
      }
      const rows = [
        ['ID', 'USERNAME', 'ROLES', 'CREATED', 'STATUS'],
        ...users.map((u) => [u.id, u.username, u.roles.join(',') || '-', new Date(u.createdAt).toISOString(), u.disabledAt === null ? 'active' : `disabled since ${new Date(u.disabledAt).toISOString()}`]),
      ];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) process.stdout.write(`${r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  ')}\n`);
      return 0;
    } finally {
      await opened.close();
    }
  }
  const near = sub !== undefined && !SUBCOMMANDS.includes(sub) ? nearest(sub, SUBCOMMANDS) : undefined;
  process.stderr.write(`${near !== undefined ? `gatehouse: unknown users command "${sub}" (did you mean "${near}"?). ` : ''}${USAGE}\n`);
  return 2;
}
