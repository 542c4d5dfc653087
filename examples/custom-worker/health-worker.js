// A custom worker class: node:http, plus a /healthz route the worker answers itself with its
// own counters, whatever the app. Run it with:
//
//   tsws app.js:app -k ./health-worker.js:HealthWorker
//
// The base class gives it the rest: the master protocol (ready, heartbeats, stop), PM2's ready
// signal, SIGTERM/SIGINT drains, --user/--group, and request counting through nodeListener().
import http from 'node:http';
import { listenBind, Worker } from '@tsws/worker';

export class HealthWorker extends Worker {
  static workerName = 'health';

  #servers = [];

  // Open every --bind address, serve, and resolve with the addresses once all are listening.
  async start() {
    const app = this.nodeListener(); // any app (fetch or Node), counted in this.stats()
    const urls = [];
    for (const bind of this.settings.bind) {
      const server = http.createServer((req, res) => {
        if (req.url === '/healthz') {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ ok: true, pid: process.pid, ...this.stats() }));
        } else {
          app(req, res);
        }
      });
      server.keepAliveTimeout = this.settings.keepAlive * 1000;
      this.#servers.push(server);
      urls.push((await listenBind(server, bind, this.settings)).url);
    }
    return urls;
  }

  // Stop accepting; let in-flight requests finish (graceful) for up to timeoutMs, then cut.
  async stop(graceful, timeoutMs) {
    const closing = this.#servers.map((server) => new Promise((resolve) => server.close(resolve)));
    for (const server of this.#servers) {
      server.closeIdleConnections();
      if (!graceful) server.closeAllConnections();
      else setTimeout(() => server.closeAllConnections(), timeoutMs).unref();
    }
    await Promise.all(closing);
  }
}
