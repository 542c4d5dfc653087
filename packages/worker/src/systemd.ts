// systemd socket activation (sd_listen_fds(3)): sockets passed as fds 3.. with LISTEN_FDS, meant
// for us when LISTEN_PID is our pid (or absent, as some launchers do), named by LISTEN_FDNAMES.

const SD_LISTEN_FDS_START = 3;

export interface PassedSocket {
  fd: number;
  /** From LISTEN_FDNAMES, or "unknown". */
  name: string;
}

/** The sockets systemd (or systemd-socket-activate) passed to this process; [] when none. */
export function passedSockets(env: NodeJS.ProcessEnv = process.env, pid = process.pid): PassedSocket[] {
  const count = Number(env.LISTEN_FDS);
  if (!Number.isInteger(count) || count <= 0) return [];
  if (env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) !== pid) return [];
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  return Array.from({ length: count }, (_, i) => ({ fd: SD_LISTEN_FDS_START + i, name: names[i] || 'unknown' }));
}

/**
 * The passed sockets as binds (`fd://3`, ...), and the environment with the LISTEN_* variables
 * removed, so children (the app's own subprocesses) do not think the sockets are theirs.
 */
export function takePassedSockets(env: NodeJS.ProcessEnv = process.env, pid = process.pid): string[] {
  const binds = passedSockets(env, pid).map((s) => `fd://${s.fd}`);
  if (binds.length) {
    delete env.LISTEN_FDS;
    delete env.LISTEN_PID;
    delete env.LISTEN_FDNAMES;
  }
  return binds;
}
