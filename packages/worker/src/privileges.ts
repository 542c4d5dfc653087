// --user/--group: switched once the sockets are bound (ports below 1024 need root), group first
// (a process that gave up root can no longer change its group), supplementary groups reset so
// root's do not linger.
import { execFileSync } from 'node:child_process';
import type { Logger } from './logging.js';

export class PrivilegeError extends Error {
  override readonly name = 'PrivilegeError';
  readonly code = 'ERR_TSWS_PRIVILEGES';
}

function numeric(id: string): number | undefined {
  return /^\d+$/.test(id) ? Number(id) : undefined;
}

/** The primary group of `user` (name or uid), from the system's user database. */
function primaryGroup(user: string): number {
  try {
    return Number(execFileSync('id', ['-g', '--', user], { encoding: 'utf8' }).trim());
  } catch {
    throw new PrivilegeError(`--user ${user}: no such user`);
  }
}

function userName(user: string): string {
  if (numeric(user) === undefined) return user;
  try {
    return execFileSync('id', ['-un', '--', user], { encoding: 'utf8' }).trim();
  } catch {
    throw new PrivilegeError(`--user ${user}: no such user`);
  }
}

/** Switches to `user`/`group` when given and different from now; throws PrivilegeError with the reason. */
export function dropPrivileges(user: string | undefined, group: string | undefined, log: Logger): void {
  if (user === undefined && group === undefined) return;
  if (!process.setuid || !process.setgid || !process.getuid)
    throw new PrivilegeError('--user/--group: not supported on this platform');
  try {
    if (group !== undefined) {
      const gid = numeric(group) ?? group;
      process.setgid(gid);
      if (user === undefined) process.setgroups?.([gid]);
    }
    if (user !== undefined) {
      const uid = numeric(user);
      if (uid !== undefined && uid === process.getuid()) return;
      const gid = group !== undefined ? process.getgid!() : primaryGroup(user);
      if (group === undefined) process.setgid(gid);
      (process as { initgroups?: (user: string, extraGroup: number) => void }).initgroups?.(userName(user), gid);
      process.setuid(uid ?? user);
    }
  } catch (err) {
    if (err instanceof PrivilegeError) throw err;
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EPERM' ? 'not permitted (only root can switch users)' : e.message;
    const to = [user !== undefined && `user ${user}`, group !== undefined && `group ${group}`].filter(Boolean);
    throw new PrivilegeError(`cannot switch to ${to.join(' and ')}: ${why}`, { cause: err });
  }
  log.info({ uid: process.getuid(), gid: process.getgid!() }, 'switched user and group');
}
