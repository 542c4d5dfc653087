// Listening a net.Server that is not the core's own (the node class's http.Server, a custom
// class's server) on a bind string, with the core's forms and rules.
import cluster from 'node:cluster';
import type net from 'node:net';
import { formatAddress, listenOn, parseBind } from '@tsws/core/bind';
import type { WorkerSettings } from './protocol.js';

type ListenSettings = Pick<WorkerSettings, 'backlog' | 'reusePort' | 'umask'>;

/**
 * Listens `server` on `bind`; rejects with a BindError naming the address and the reason.
 * Resolves with the printable address, and the Unix socket file to remove on stop (none in a
 * cluster worker: the primary made it, for every worker).
 */
export async function listenBind(
  server: net.Server,
  bind: string,
  settings: ListenSettings,
): Promise<{ url: string; unixPath?: string }> {
  const address = parseBind(bind);
  await listenOn(server, address, settings);
  const unixPath =
    address.kind === 'unix' && !address.path.startsWith('\0') && !cluster.isWorker ? address.path : undefined;
  return { url: formatAddress(server.address()), ...(unixPath ? { unixPath } : {}) };
}
