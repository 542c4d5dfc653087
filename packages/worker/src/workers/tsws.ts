// The `tsws` worker class: the tsws core, for fetch apps at full speed.
import cluster from 'node:cluster';
import net from 'node:net';
import { Server } from '@tsws/core';
import { Worker, type WorkerStats } from '../base.js';
import { coreOptions } from '../serve-options.js';

export class TswsWorker extends Worker {
  static override workerName = 'tsws';
  static override serves = ['fetch'] as const;

  private server: Server | undefined;

  async start(): Promise<string[]> {
    if (this.app.interface !== 'fetch') throw new TypeError('the tsws worker class serves fetch apps');
    const options = coreOptions(this.settings, this.log, this.options.accessLog);
    if (!cluster.isWorker) {
      this.server = new Server(this.app.fetch, options);
      await this.server.listen();
      return this.server.urls();
    }
    // Workaround for a core bug (reported): in a node:cluster worker with round-robin scheduling
    // the primary can hand over a connection in the same batch of IPC messages that completes
    // listen(), before the core takes over the listener's accepting; net.Server then emits it as
    // 'connection' with nobody listening and it hangs. Catch those and pass them to the core
    // through a non-listening server it adopts (its `sockets` option). Covers the first bind,
    // the one listening when we regain control.
    const catcher = new net.Server();
    const server = (this.server = new Server(this.app.fetch, { ...options, sockets: [catcher] }));
    const early: net.Socket[] = [];
    const hold = (socket: net.Socket) => early.push(socket);
    const listening = server.listen();
    const first = server.listeners[0];
    first?.on('connection', hold);
    try {
      await listening;
    } finally {
      first?.off('connection', hold);
    }
    for (const socket of early) catcher.emit('connection', socket);
    return server.urls().filter((_, i) => server.listeners[i] !== catcher);
  }

  /** Graceful once; a later call that is not graceful cuts what the first is still draining. */
  stop(graceful: boolean, timeoutMs: number): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    const stopped = server.shutdown(graceful ? timeoutMs : 0);
    // The core's shutdown() keeps its first deadline; cutting early is destroying what is left.
    if (!graceful || timeoutMs <= 0) for (const conn of server.connections) conn.destroy();
    return stopped;
  }

  override stats(): WorkerStats {
    return this.server?.stats() ?? this.requests.stats(0);
  }
}
