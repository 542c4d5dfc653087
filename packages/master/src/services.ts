// The master's operations services, opened at start and closed when it stops: the control
// socket, the metrics and health endpoint, the StatsD sink. Any that cannot open fails the start
// with its reason, except the default control socket, which is a convenience: without it the
// master still runs (and says why). The metrics endpoint and the StatsD sink are loaded only when
// asked for: node:http alone costs the master 14 MB of RSS on Node 24, node:dgram a little more.
import { defaultControlSocket, type Logger, type Settings } from '@tsws/worker/internal';
import { openControlSocket } from './control.js';
import type { Master } from './master.js';

export interface Services {
  controlSocket: string | undefined;
  metricsUrl: string | undefined;
  close(): Promise<void>;
}

export async function startServices(master: Master, s: Settings, log: Logger): Promise<Services> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    let controlSocket: string | undefined;
    if (s.controlSocket !== false) {
      const isDefault = s.controlSocket === defaultControlSocket();
      try {
        const control = await openControlSocket(master, s.controlSocket, isDefault, log);
        closers.push(control.close);
        controlSocket = control.path;
      } catch (err) {
        if (!isDefault) throw err;
        log.warn(
          { err: { message: (err as Error).message } },
          `no control socket: ${(err as Error).message} (set --control-socket PATH, or --no-control-socket)`,
        );
      }
    }
    let metricsUrl: string | undefined;
    if (s.metricsBind) {
      const { openMetricsServer } = await import('./health.js');
      const metrics = await openMetricsServer(master, s.metricsBind, log);
      closers.push(metrics.close);
      metricsUrl = metrics.url;
    }
    if (s.statsdHost) {
      const { openStatsd } = await import('./statsd.js');
      closers.push(openStatsd(master, s.statsdHost, s.statsdPrefix, log).close);
    }
    return { controlSocket, metricsUrl, close };
  } catch (err) {
    await close();
    throw err;
  }
}
