// What the kernel says about processes and their connections (Linux /proc), for the fault tests
// and the soak: which client connections a worker holds, its user and groups, who is left in a
// process group.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The socket inodes among `pid`'s open files. */
function socketInodes(pid) {
  const inodes = new Set();
  let fds = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed while we looked
    }
  }
  return inodes;
}

/** Every TCP socket in this network namespace: local and remote port, state (hex), inode. */
function tcpSockets() {
  const out = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      out.push({
        localPort: Number.parseInt(f[1].split(':')[1], 16),
        remotePort: Number.parseInt(f[2].split(':')[1], 16),
        state: f[3],
        inode: f[9],
      });
    }
  }
  return out;
}

const LISTEN = '0A';

/**
 * The client ports of the connections to `serverPort` that process `pid` holds open (accepted,
 * whatever their state). Exact when `pid` cannot accept meanwhile (stopped, blocked, exiting).
 */
export function heldConnections(pid, serverPort) {
  return new Set(
    heldSockets(pid)
      .filter((s) => s.localPort === serverPort)
      .map((s) => s.remotePort),
  );
}

/** Every TCP connection (not listener) process `pid` holds: its local and remote port. */
export function heldSockets(pid) {
  const inodes = socketInodes(pid);
  return tcpSockets()
    .filter((s) => s.state !== LISTEN && inodes.has(s.inode))
    .map(({ localPort, remotePort }) => ({ localPort, remotePort }));
}

/** `Uid`, `Gid` (real, effective, saved, filesystem) and `Groups` from /proc/PID/status. */
export function identity(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) =>
    (new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

/** Every process whose process group is `pgid`, with its state (`Z`: exited, not yet reaped). */
export function processGroup(pgid) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state, ppid, pgrp, ...
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[2]) === pgid) out.push({ pid: Number(entry), state: rest[0] });
    } catch {
      // gone while we looked
    }
  }
  return out;
}

/** The children of `pid` now. */
export function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
