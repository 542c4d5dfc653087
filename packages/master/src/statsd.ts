// The optional StatsD sink (--statsd-host): once a second, the master sends what its counters
// gained since the last send and its gauges now, over UDP. It reads the same totals as /metrics.
// Request durations go as the interval's mean (a gauge): the workers send bucket counts, not the
// single values a StatsD timer wants; the full distribution is in the Prometheus histogram.
import dgram from 'node:dgram';
import net from 'node:net';
import { parseBind } from '@tsws/core/bind';
import type { Logger } from '@tsws/worker/internal';
import { RESPAWN_CAUSES } from './counters.js';
import type { Master } from './master.js';

const INTERVAL_MS = 1000;
/** Under a typical path MTU, so no datagram is fragmented. */
const MAX_DATAGRAM = 1400;

export interface StatsdSink {
  close(): Promise<void>;
}

/** Every counter the sink reports, by its StatsD name (without the prefix). */
function counters(master: Master): Map<string, number> {
  const c = master.counters;
  const out = new Map<string, number>();
  let requests = 0;
  let duration = 0;
  for (const s of c.requests.series()) {
    requests += s.count;
    duration += s.durationSum;
    out.set(`requests.${s.statusClass}`, (out.get(`requests.${s.statusClass}`) ?? 0) + s.count);
  }
  out.set('requests', requests);
  out.set('request.duration_seconds_sum', duration);
  out.set('worker.spawns', c.spawns);
  for (const cause of RESPAWN_CAUSES) out.set(`worker.respawns.${cause}`, c.respawns[cause]);
  out.set('reloads.ok', c.reloads.ok);
  out.set('reloads.abandoned', c.reloads.abandoned);
  return out;
}

export function openStatsd(master: Master, target: string, prefix: string, log: Logger): StatsdSink {
  const address = parseBind(target);
  if (address.kind !== 'tcp' || address.port === 0)
    throw new Error(`--statsd-host ${target}: expected host:port, e.g. 127.0.0.1:8125`);
  const socket = dgram.createSocket(net.isIPv6(address.host) ? 'udp6' : 'udp4');
  socket.on('error', (err) => log.debug({ err }, 'statsd send failed'));
  socket.unref();
  let last = counters(master);
  const send = (lines: string[]) => {
    let packet = '';
    for (const line of lines) {
      if (packet && packet.length + line.length + 1 > MAX_DATAGRAM) {
        socket.send(packet, address.port, address.host);
        packet = '';
      }
      packet += packet ? `\n${line}` : line;
    }
    if (packet) socket.send(packet, address.port, address.host);
  };
  const flush = () => {
    const now = counters(master);
    const lines: string[] = [];
    for (const [name, value] of now) {
      const delta = value - (last.get(name) ?? 0);
      if (delta > 0 && name !== 'request.duration_seconds_sum') lines.push(`${prefix}.${name}:${delta}|c`);
    }
    const requests = (now.get('requests') ?? 0) - (last.get('requests') ?? 0);
    const seconds = (now.get('request.duration_seconds_sum') ?? 0) - (last.get('request.duration_seconds_sum') ?? 0);
    if (requests > 0) lines.push(`${prefix}.request.duration_mean_ms:${((seconds * 1000) / requests).toFixed(3)}|g`);
    last = now;
    const workers = master.workers;
    lines.push(
      `${prefix}.workers:${workers.filter((w) => w.state === 'ready').length}|g`,
      `${prefix}.workers.target:${master.targetWorkers}|g`,
      `${prefix}.active_requests:${workers.reduce((n, w) => n + (w.status?.inFlight ?? 0), 0)}|g`,
    );
    send(lines);
  };
  const timer = setInterval(flush, INTERVAL_MS);
  timer.unref();
  log.info({ statsd: target }, `sending metrics to StatsD at ${target} every second`);
  return {
    close: async () => {
      clearInterval(timer);
      flush();
      await new Promise<void>((resolve) => setImmediate(resolve));
      socket.close();
    },
  };
}
