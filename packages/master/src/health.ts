// The master's HTTP endpoint on --metrics-bind: /metrics (Prometheus), /livez and /readyz (an
// orchestrator's probes). Served by the master, never a worker, so a scrape or a probe always
// sees the whole instance.
import http from 'node:http';
import { type BindAddress, listenOn, parseBind } from '@tsws/core/bind';
import type { Logger } from '@tsws/worker/internal';
import type { Master } from './master.js';
import { masterMetrics } from './metrics.js';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export async function openMetricsServer(master: Master, bind: string, log: Logger): Promise<MetricsServer> {
  let address: BindAddress;
  try {
    address = parseBind(bind);
  } catch (err) {
    throw new Error(`--metrics-bind: ${(err as Error).message}`);
  }
  if (address.kind === 'fd') throw new Error(`--metrics-bind ${bind}: expected host:port or unix:/path`);
  const registry = await masterMetrics(master);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 }).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(text) });
          res.end(text);
        },
        (err: Error) => {
          log.error({ err }, 'collecting the metrics failed');
          json(res, 500, { error: err.message });
        },
      );
    } else if (path === '/readyz') {
      const r = master.readiness();
      json(res, r.ready ? 200 : 503, r);
    } else if (path === '/livez') {
      // Answered by the master's own event loop, which never waits on user code: a master that
      // cannot answer is blocked, and the probe's timeout says so.
      json(res, 200, { live: true });
    } else json(res, 404, { error: 'not found: try /metrics, /livez or /readyz' });
  });
  try {
    await listenOn(server, address, { backlog: 511, reusePort: false, umask: undefined });
  } catch (err) {
    throw new Error(`--metrics-bind: ${(err as Error).message}`);
  }
  const where = server.address();
  const url =
    typeof where === 'string' || where === null
      ? bind
      : `http://${where.family === 'IPv6' ? `[${where.address}]` : where.address}:${where.port}`;
  log.info({ metrics: url }, `metrics at ${url}/metrics, probes at /livez and /readyz`);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
