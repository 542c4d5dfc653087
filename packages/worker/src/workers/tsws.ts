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
    this.server = new Server(
      { fetch: this.app.fetch, websocket: this.app.websocket },
      coreOptions(this.settings, this.log, this.options.accessLog, this.options.metrics),
    );
    this.server.relay = this.relay;
    await this.server.listen();
    return this.server.urls();
  }

  protected override relayed(topic: string, payload: Buffer, binary: boolean): void {
    this.server?.relayed(topic, payload, binary);
  }

  /** A later call with a shorter timeout (or not graceful) cuts what the first is still draining. */
  stop(graceful: boolean, timeoutMs: number): Promise<void> {
    return this.server?.shutdown(graceful ? timeoutMs : 0) ?? Promise.resolve();
  }

  override stats(): WorkerStats {
    return this.server?.stats() ?? this.requests.stats(0);
  }
}
