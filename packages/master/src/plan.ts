// Checks that only the master can make, before any worker starts, and what follows from the
// settings for forking: the cluster scheduling policy, SO_REUSEPORT, the workers' uid and gid.
import { execFileSync } from 'node:child_process';
import cluster from 'node:cluster';
import { BindError, hasReusePort, parseBind } from '@tsws/core';
import { SettingError, type Settings } from '@tsws/worker';

export interface Plan {
  /** cluster.SCHED_NONE (the kernel hands out connections on one shared socket) or SCHED_RR (the master accepts). */
  policy: number;
  /** Each worker opens its own SO_REUSEPORT socket for TCP binds. */
  reusePort: boolean;
  uid: number | undefined;
  gid: number | undefined;
}

/** A user or group name as a number, through the system's own database (id(1), getent(1)). */
function lookup(kind: 'user' | 'group', value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  try {
    const out =
      kind === 'user'
        ? execFileSync('id', ['-u', value], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        : execFileSync('getent', ['group', value], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(
            ':',
          )[2];
    const id = Number.parseInt(String(out), 10);
    if (Number.isInteger(id)) return id;
  } catch {
    // not found: reported below
  }
  throw new SettingError(`--${kind}: no such ${kind}: ${JSON.stringify(value)}`);
}

export function plan(settings: Settings): Plan {
  if (!settings.app)
    throw new SettingError('APP: missing: name the app as module:export, e.g. `tsws-master app.js:app`');
  for (const bind of settings.bind) {
    try {
      parseBind(bind);
    } catch (err) {
      if (err instanceof BindError) throw new SettingError(`--bind: ${err.message}`);
      throw err;
    }
  }
  // --reuse-port in a cluster worker gives each worker its own socket: the same as --scheduling reuseport.
  const reusePort = settings.scheduling === 'reuseport' || settings.reusePort;
  if (reusePort) {
    const why = settings.scheduling === 'reuseport' ? '--scheduling reuseport' : '--reuse-port';
    if (!hasReusePort())
      throw new SettingError(
        `${why}: SO_REUSEPORT needs Node >= 22.12 or >= 23.1; this is Node ${process.versions.node} ` +
          '(use --scheduling shared or rr)',
      );
    for (const bind of settings.bind) {
      const address = parseBind(bind);
      if (address.kind === 'tcp' && address.port === 0)
        throw new SettingError(`${why}: bind "${bind}" needs a fixed port (with port 0 each worker would get its own)`);
    }
  }
  const uid = settings.user === undefined ? undefined : lookup('user', settings.user);
  const gid = settings.group === undefined ? undefined : lookup('group', settings.group);
  const root = process.getuid?.() === 0;
  if (
    !root &&
    ((uid !== undefined && uid !== process.getuid?.()) || (gid !== undefined && gid !== process.getgid?.()))
  ) {
    const which = uid !== undefined ? 'user' : 'group';
    throw new SettingError(`--${which}: switching the workers' ${which} needs the master to run as root`);
  }
  return { policy: settings.scheduling === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE, reusePort, uid, gid };
}
