// The `tsws` worker class: the tsws core, for fetch apps at full speed.
import { Server } from '@tsws/core';
import { Worker, type WorkerStats } from '../base.js';
import { coreOptions } from '../serve-options.js';

export class TswsWorker extends Worker {
  static override workerName = 'tsws';
  static override serves = ['fetch'] as const;

  private server: Server | undefined;

  async start(): Promise<string[]> {
    if (this.app.interface !== 'fetch') throw new TypeError('the tsws worker class serves fetch apps');
    this.server = new Server(this.app.fetch, coreOptions(this.settings, this.log, this.options.accessLog));
    await this.server.listen();
    return this.server.urls();
  }

  /** Graceful once; a later call that is not graceful cuts what the first is still draining. */
  stop(graceful: boolean, timeoutMs: number): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    // The core's shutdown() keeps its first deadline; cutting early is destroying what is left.
    const stopped = server.shutdown(graceful ? timeoutMs : 0);
    if (!graceful || timeoutMs <= 0) for (const conn of server.connections) conn.destroy();
    return stopped;
  }

  override stats(): WorkerStats {
    return this.server?.stats() ?? this.requests.stats(0);
  }
}
