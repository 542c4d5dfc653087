// --sticky, the worker's side: the master accepts each connection and hands it here, unread, with
// its socket handle. The worker class listens on its binds as always; in a node:cluster worker,
// net.Server.listen() asks the primary for a listening handle through cluster._getServer, and we
// answer with a handle that the master's hand-offs feed, as node:cluster's own round-robin does
// (lib/internal/cluster/child.js). So the server counts, limits and serves a handed connection
// exactly as one it accepted, in every worker class, built in or custom.
import cluster from 'node:cluster';
import { isIPv6 } from 'node:net';
import { constants } from 'node:os';
import { BootError } from './failure.js';
import { EXIT, type Handed, handedKey, isMasterMessage } from './protocol.js';

/** What net.Server needs of a listening handle (it sets `onconnection` itself). */
interface ListenHandle {
  onconnection?: (status: number, client: Closable) => void;
  listen(backlog: number): number;
  close(): void;
  ref(): void;
  unref(): void;
  getsockname(out: Record<string, unknown>): number;
}

interface Closable {
  close(): void;
}

type GetServer = (
  server: unknown,
  options: { address?: unknown; port?: unknown },
  cb: (status: number, handle: ListenHandle | null) => void,
) => void;

/** Routes the master's hand-offs to the servers listening here; call before the worker class starts. */
export function acceptHanded(): void {
  const clustered = cluster as unknown as { _getServer?: GetServer };
  const original = clustered._getServer;
  if (!cluster.isWorker || typeof original !== 'function')
    throw new BootError(
      `--sticky needs node:cluster's worker internals (cluster._getServer), which Node ${process.versions.node} ` +
        'does not have',
      EXIT.BOOT_ERROR,
    );
  const listening = new Map<string, ListenHandle>();
  clustered._getServer = (server, options, cb) => {
    const { address, port } = options;
    // Only TCP binds are handed (the master refuses others); anything else is node:cluster's.
    if (typeof address !== 'string' || typeof port !== 'number') return original.call(cluster, server, options, cb);
    const key = handedKey(address, port);
    if (listening.has(key)) return cb(-constants.errno.EADDRINUSE, null);
    listening.set(key, handedListener(key, address, port, listening));
    cb(0, listening.get(key)!);
  };
  process.on('message', (message: unknown, client?: Closable) => {
    if (!isMasterMessage(message) || message.tsws !== 'connection' || !client) return;
    const target = listening.get((message as Handed).key);
    // A server that has closed (the worker is stopping on its own): the client sees a reset.
    if (target?.onconnection) target.onconnection(0, client);
    else client.close();
  });
}

/** A listening handle that accepts nothing itself: the master's hand-offs are its connections. */
function handedListener(key: string, address: string, port: number, listening: Map<string, ListenHandle>) {
  // Keeps the process alive while it listens, as a real listening socket would.
  let alive: NodeJS.Timeout | undefined;
  const handle: ListenHandle = {
    listen: () => 0,
    close() {
      handle.unref();
      listening.delete(key);
    },
    ref() {
      alive ??= setInterval(() => {}, 2 ** 31 - 1);
    },
    unref() {
      clearInterval(alive);
      alive = undefined;
    },
    getsockname(out) {
      Object.assign(out, { address, port, family: isIPv6(address) ? 'IPv6' : 'IPv4' });
      return 0;
    },
  };
  handle.ref();
  return handle;
}
