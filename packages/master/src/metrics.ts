// The master's Prometheus metrics. prom-client does the exposition (its registry, the text
// format and its escaping, and the master process's own CPU, memory and event-loop metrics);
// the values are read from the master's state at each scrape by collectors registered with it:
// prom-client's Histogram can only observe single values, and the totals here are bucket counts
// the workers add up between heartbeats, so the histograms are collectors too.
//
// Names follow OpenTelemetry's HTTP semantic conventions as Prometheus exports them
// (`http.server.request.duration`, unit s -> `http_server_request_duration_seconds`), by method
// and status class; everything tsws-specific is `tsws_*`.
import { DURATION_BUCKETS, type SeriesTotals, SIZE_BUCKETS } from '@tsws/worker/internal';
import type { Metric, Registry } from 'prom-client';
import { acceptQueues, effectiveBacklog } from './backlog.js';
import { RESPAWN_CAUSES } from './counters.js';
import type { Master } from './master.js';
import type { WorkerState } from './workers.js';

type Labels = Record<string, string | number>;
interface Sample {
  value: number;
  labels?: Labels;
  /** For histograms: `<name>_bucket`, `_sum`, `_count`. */
  metricName?: string;
}

/** A metric whose samples are computed at scrape time. */
function collector(
  registry: Registry,
  name: string,
  help: string,
  type: 'counter' | 'gauge' | 'histogram',
  samples: () => Sample[],
): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: samples() }),
    reset: () => {},
  };
  registry.registerMetric(metric as unknown as Metric);
}

/** A histogram's samples from non-cumulative bucket counts. */
function histogram(
  name: string,
  bounds: number[],
  series: SeriesTotals[],
  pick: (s: SeriesTotals) => { buckets: number[]; sum: number },
): Sample[] {
  const out: Sample[] = [];
  for (const s of series) {
    const labels = { http_request_method: s.method, http_response_status_class: s.statusClass };
    const { buckets, sum } = pick(s);
    let cumulative = 0;
    bounds.forEach((le, i) => {
      cumulative += buckets[i] ?? 0;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
    });
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: s.count });
    out.push({ metricName: `${name}_sum`, labels, value: sum });
    out.push({ metricName: `${name}_count`, labels, value: s.count });
  }
  return out;
}

/** Registers every metric of `master` in a new registry. */
export async function masterMetrics(master: Master): Promise<Registry> {
  const prom = await import('prom-client');
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  const totals = () => master.counters.requests.series();
  const workers = () => master.workers.filter((w) => w.status !== null);
  const perWorker = (value: (s: NonNullable<ReturnType<typeof workers>[number]['status']>) => number) => () =>
    workers().map((w) => ({ labels: { worker: w.id }, value: value(w.status!) }));

  collector(
    registry,
    'http_server_request_duration_seconds',
    'Duration of HTTP server requests, from the request head to the end of the response.',
    'histogram',
    () =>
      histogram('http_server_request_duration_seconds', DURATION_BUCKETS, totals(), (s) => ({
        buckets: s.durationBuckets,
        sum: s.durationSum,
      })),
  );
  collector(registry, 'http_server_request_body_size_bytes', 'Size of HTTP server request bodies.', 'histogram', () =>
    histogram('http_server_request_body_size_bytes', SIZE_BUCKETS, totals(), (s) => ({
      buckets: s.requestSizeBuckets,
      sum: s.requestBytesSum,
    })),
  );
  collector(registry, 'http_server_response_body_size_bytes', 'Size of HTTP server response bodies.', 'histogram', () =>
    histogram('http_server_response_body_size_bytes', SIZE_BUCKETS, totals(), (s) => ({
      buckets: s.responseSizeBuckets,
      sum: s.responseBytesSum,
    })),
  );
  collector(
    registry,
    'http_server_active_requests',
    'Requests received and not yet answered, over every worker (as of their last heartbeats).',
    'gauge',
    () => [{ value: workers().reduce((n, w) => n + w.status!.inFlight, 0) }],
  );

  collector(
    registry,
    'tsws_worker_active_requests',
    'Requests in flight in each worker.',
    'gauge',
    perWorker((s) => s.inFlight),
  );
  collector(
    registry,
    'tsws_worker_connections',
    'Open connections in each worker.',
    'gauge',
    perWorker((s) => s.connections),
  );
  collector(
    registry,
    'tsws_worker_event_loop_utilization_ratio',
    "Each worker's event-loop utilisation over its last heartbeat interval (0 to 1).",
    'gauge',
    perWorker((s) => s.elu),
  );
  collector(
    registry,
    'tsws_worker_resident_memory_bytes',
    "Each worker's resident set size.",
    'gauge',
    perWorker((s) => s.rss),
  );
  collector(
    registry,
    'tsws_worker_heap_used_bytes',
    "Each worker's V8 heap in use.",
    'gauge',
    perWorker((s) => s.heapUsed),
  );

  collector(registry, 'tsws_workers', 'Worker processes by state.', 'gauge', () => {
    const byState: Record<WorkerState, number> = { booting: 0, ready: 0, retiring: 0, stopping: 0 };
    for (const w of master.workers) byState[w.state]++;
    return Object.entries(byState).map(([state, value]) => ({ labels: { state }, value }));
  });
  collector(
    registry,
    'tsws_workers_target',
    'How many workers should serve (--workers, moved by scaling).',
    'gauge',
    () => [{ value: master.targetWorkers }],
  );
  collector(registry, 'tsws_ready', '1 when /readyz answers 200: every worker serving, not draining.', 'gauge', () => [
    { value: master.readiness().ready ? 1 : 0 },
  ]);
  collector(registry, 'tsws_worker_spawns_total', 'Worker processes started.', 'counter', () => [
    { value: master.counters.spawns },
  ]);
  collector(
    registry,
    'tsws_worker_respawns_total',
    'Workers replaced, by cause: crash, timeout, killed (on request), max-requests, max-memory, lifetime, reload.',
    'counter',
    () => RESPAWN_CAUSES.map((cause) => ({ labels: { cause }, value: master.counters.respawns[cause] })),
  );
  collector(registry, 'tsws_reloads_total', 'Reloads, by result: ok or abandoned.', 'counter', () =>
    Object.entries(master.counters.reloads).map(([result, value]) => ({ labels: { result }, value })),
  );
  // Read once per scrape, for both metrics below (the kernel makes /proc/net/tcp as it is read).
  let queues = { at: 0, value: new Map<string, number>() };
  const queued = () => {
    if (performance.now() - queues.at > 100)
      queues = { at: performance.now(), value: acceptQueues(master.listeningOn) };
    return queues.value;
  };
  collector(
    registry,
    'tsws_listen_accept_queue',
    'Connections waiting in the kernel for a worker to accept them, per TCP listener.',
    'gauge',
    () => [...queued()].map(([listener, n]) => ({ labels: { listener }, value: n })),
  );
  collector(
    registry,
    'tsws_listen_accept_queue_max',
    'The most connections the kernel queues for each TCP listener (--backlog, capped by somaxconn).',
    'gauge',
    () => {
      const max = effectiveBacklog(master.settings.backlog);
      return [...queued().keys()].map((listener) => ({ labels: { listener }, value: max }));
    },
  );
  return registry;
}
