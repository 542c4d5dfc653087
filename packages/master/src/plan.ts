// Checks that only the master can make, before any worker starts, and what follows from the
// settings for forking: the cluster scheduling policy, SO_REUSEPORT, the workers' uid and gid.
import cluster from 'node:cluster';
import { resolve } from 'node:path';
import { parseBind } from '@tsws/core/bind';
import { preflight, SettingError, type Settings } from '@tsws/worker/internal';

export interface Plan {
  /** cluster.SCHED_NONE (the kernel hands out connections on one shared socket) or SCHED_RR (the master accepts). */
  policy: number;
  /** Each worker opens its own SO_REUSEPORT socket for TCP binds. */
  reusePort: boolean;
  /** --sticky: the master accepts and hands each connection to the worker its client address picks. */
  sticky: boolean;
  uid: number | undefined;
  gid: number | undefined;
}

/** The checks both commands make (preflight), then the master's own; throws SettingError. */
export function plan(settings: Settings): Plan {
  if (settings.sticky) checkSticky(settings);
  const { uid, gid } = preflight(settings, 'tsws-master');
  // --reuse-port in a cluster worker gives each worker its own socket: the same as --scheduling reuseport.
  const reusePort = settings.scheduling === 'reuseport' || settings.reusePort;
  if (reusePort) {
    const why = settings.scheduling === 'reuseport' ? '--scheduling reuseport' : '--reuse-port';
    for (const bind of settings.bind) {
      const address = parseBind(bind);
      if (address.kind === 'tcp' && address.port === 0)
        throw new SettingError(`${why}: bind "${bind}" needs a fixed port (with port 0 each worker would get its own)`);
    }
  }
  // node:cluster resolves a Unix socket's name against each worker's directory, and the master
  // against its own (lib/internal/cluster/child.js, primary.js): an abstract name arrives intact
  // only when both are the same; else the bind fails with EINVAL.
  const abstract = settings.bind.find((bind) => bind.startsWith('unix:@'));
  if (abstract && resolve(settings.chdir) !== process.cwd())
    throw new SettingError(
      `--bind ${abstract}: under tsws-master an abstract socket needs the workers to run in the master's own ` +
        `directory (${process.cwd()}): node:cluster resolves the name as a file path. Start it from --chdir, ` +
        'or use unix:/path',
    );
  const policy = settings.scheduling === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  return { policy, reusePort, sticky: settings.sticky, uid, gid };
}

/** --sticky hashes the TCP peer's address, so it needs one, and it must be the client's. */
function checkSticky(settings: Settings): void {
  if (settings.scheduling === 'reuseport' || settings.reusePort)
    throw new SettingError(
      `--sticky: the master accepts every connection itself, so it cannot go with ${
        settings.reusePort ? '--reuse-port' : '--scheduling reuseport'
      } (each worker's own socket)`,
    );
  const unix = settings.bind.find((bind) => parseBind(bind).kind === 'unix');
  if (unix)
    throw new SettingError(
      `--sticky: bind "${unix}" has no client address to hash; bind a TCP address, or keep sessions on one ` +
        'worker in the proxy in front',
    );
  if (settings.proxyProtocol !== 'off')
    throw new SettingError(
      '--sticky: with --proxy-protocol the client address is in the PROXY header, which the master does not ' +
        "read: every connection would hash on the proxy's address and land on one worker",
    );
}
