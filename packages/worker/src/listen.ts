// Listening a net.Server (an http.Server for the node class, or a custom class's server) on a
// bind address with the same forms and rules as the core: host:port, [v6]:port, unix:/path,
// unix:@name and fd://N, with the backlog, SO_REUSEPORT and umask asked for.
// (The core's own listenOn in bind.ts is not exported; this follows it, with its clearStaleSocket.)
import cluster from 'node:cluster';
import type net from 'node:net';
import { type BindAddress, BindError, clearStaleSocket, formatAddress, hasReusePort, parseBind } from '@tsws/core';
import type { WorkerSettings } from './protocol.js';

export type ListenSettings = Pick<WorkerSettings, 'backlog' | 'reusePort' | 'umask'>;

function where(address: BindAddress): string {
  return address.kind === 'tcp' ? `${address.host}:${address.port}` : address.kind === 'unix' ? formatAddress(address.path) : `fd://${address.fd}`;
}

/**
 * Listens `server` on `bind`; rejects with a BindError naming the address and the reason.
 * Resolves with the printable address (`127.0.0.1:8000`, `/run/app.sock`). A Unix socket path is
 * returned in `unixPath` so the caller can remove it when it stops.
 */
export async function listenOn(server: net.Server, bind: string, settings: ListenSettings): Promise<{ url: string; unixPath?: string }> {
  const address = parseBind(bind);
  const backlog = settings.backlog || undefined;
  let options: net.ListenOptions & { reusePort?: boolean };
  if (address.kind === 'tcp') {
    options = { host: address.host, port: address.port, backlog };
    if (settings.reusePort) {
      if (!hasReusePort()) throw new BindError(`--reuse-port needs Node >= 22.12 or >= 23.1; this is Node ${process.versions.node}`);
      options.reusePort = true;
    }
  } else if (address.kind === 'unix') {
    // In a node:cluster worker the primary owns the socket file (a sibling's may be open already).
    if (!address.path.startsWith('\0') && !cluster.isWorker) await clearStaleSocket(address.path);
    options = { path: address.path, backlog };
  } else {
    options = { fd: address.fd, backlog } as net.ListenOptions;
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
      reject(new BindError(`cannot listen on ${where(address)}: ${why}${err.code ? ` (${err.code})` : ''}`, { cause: err }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // The socket file is created inside listen(), so the umask is set around that call only.
    const previous = address.kind === 'unix' && settings.umask !== undefined ? process.umask(settings.umask) : undefined;
    try {
      server.listen(options);
    } finally {
      if (previous !== undefined) process.umask(previous);
    }
  });
  const unixPath = address.kind === 'unix' && !address.path.startsWith('\0') ? address.path : undefined;
  return { url: formatAddress(server.address()), ...(unixPath ? { unixPath } : {}) };
}
