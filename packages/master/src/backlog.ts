// The kernel's accept queue of each TCP listener, from /proc/net/tcp and tcp6 (Linux): for a
// listening socket, rx_queue is the connections waiting to be accepted. A queue that grows means
// the workers are not accepting fast enough; at the backlog, new connections are dropped. With
// SO_REUSEPORT each worker's socket has its own queue; they are added up. (The limit itself is
// only in the kernel's netlink answers, so it is computed: --backlog capped by somaxconn.)
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

const LISTEN = '0A';

/** `0100007F` -> `127.0.0.1`; tcp6's 32 hex digits -> the canonical IPv6 text. */
function address(hex: string): string {
  const bytes: number[] = [];
  // Each 32-bit word is in the host's byte order (little-endian on x86 and arm64).
  for (let i = 0; i < hex.length; i += 8) {
    const word = hex.slice(i, i + 8);
    for (let j = 6; j >= 0; j -= 2) bytes.push(Number.parseInt(word.slice(j, j + 2), 16));
  }
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // URL parsing gives the canonical (compressed) form.
  return `[${new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1)}]`;
}

/** The backlog listen() really gets: the one asked for, capped by net.core.somaxconn. */
export function effectiveBacklog(backlog: number): number {
  try {
    return Math.min(backlog, Number(readFileSync('/proc/sys/net/core/somaxconn', 'latin1')) || backlog);
  } catch {
    return backlog;
  }
}

/**
 * The lines of `file` up to the first socket not listening. The kernel lists listening sockets
 * first, and makes the text as it is read: on a busy machine the file holds tens of thousands of
 * connections (200 ms to read whole), and this reads a page or two.
 */
function listenLines(file: string): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  const lines: string[] = [];
  // Small reads: the kernel fills the whole buffer, walking established connections past the listeners.
  const chunk = Buffer.alloc(4096);
  let rest = '';
  try {
    for (let first = true; ; ) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) return lines;
      const parts = (rest + chunk.toString('latin1', 0, n)).split('\n');
      rest = parts.pop()!;
      for (const line of first ? parts.slice(1) : parts) {
        if (line.trim().split(/\s+/)[3] !== LISTEN) return lines;
        lines.push(line);
      }
      first = false;
    }
  } finally {
    closeSync(fd);
  }
}

/** `listening` strings (`127.0.0.1:8000`, `[::1]:8000`) -> connections queued; Unix sockets are left out. */
export function acceptQueues(listening: string[]): Map<string, number> {
  const out = new Map<string, number>();
  const wanted = new Set(listening.filter((l) => /:\d+$/.test(l)));
  if (wanted.size === 0) return out;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of listenLines(file)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== LISTEN || !f[1] || !f[4]) continue;
      const [host = '', port = ''] = f[1].split(':');
      const name = `${address(host)}:${Number.parseInt(port, 16)}`;
      if (!wanted.has(name)) continue;
      const queued = f[4].split(':')[1] ?? '0';
      out.set(name, (out.get(name) ?? 0) + Number.parseInt(queued, 16));
    }
  }
  return out;
}
