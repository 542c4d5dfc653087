// What an operator sees of a running master: readiness, and the four `show` views (workers,
// config, listeners, stats) that `tsws-ctl` prints and `Master.show()` returns. Read-only: built
// from the master's public getters at the moment of asking.
import { printable, STATUS_CLASSES } from '@tsws/worker/internal';
import { acceptQueues, effectiveBacklog } from './backlog.js';
import type { Master, MasterState } from './master.js';
import type { WorkerInfo, WorkerState } from './workers.js';

export interface Readiness {
  ready: boolean;
  /** Why not, in words; absent when ready. */
  reason?: string;
  workers: { ready: number; target: number };
}

/** Ready: running, not draining, and at least the target number of workers serving. */
export function readiness(state: MasterState, draining: boolean, target: number, workers: WorkerInfo[]): Readiness {
  const serving = workers.filter((w) => w.state === 'ready').length;
  const counts = { ready: serving, target };
  if (state !== 'running') return { ready: false, reason: `the master is ${state}`, workers: counts };
  if (draining) return { ready: false, reason: 'draining (stopping after --drain-delay)', workers: counts };
  if (serving < target) return { ready: false, reason: `${serving} of ${target} workers ready`, workers: counts };
  return { ready: true, workers: counts };
}

/** One worker as `show workers` and `status` give it. */
export interface WorkerRow {
  id: number;
  pid: number;
  state: WorkerState;
  workerClass: string | null;
  generation: number;
  ageSeconds: number;
  requests: number | null;
  inFlight: number | null;
  connections: number | null;
  rss: number | null;
  heapUsed: number | null;
  /** Event-loop utilisation over the last heartbeat, 0 to 1. */
  elu: number | null;
  lastHeartbeatSecondsAgo: number;
  /** Why it is being replaced, if it is. */
  replace: string | null;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

export function workerRows(workers: WorkerInfo[], now = Date.now()): WorkerRow[] {
  return workers
    .sort((a, b) => a.id - b.id || a.startedAt - b.startedAt)
    .map((w) => ({
      id: w.id,
      pid: w.pid,
      state: w.state,
      workerClass: w.workerClass,
      generation: w.generation,
      ageSeconds: seconds(now - w.startedAt),
      requests: w.status?.requests ?? null,
      inFlight: w.status?.inFlight ?? null,
      connections: w.status?.connections ?? null,
      rss: w.status?.rss ?? null,
      heapUsed: w.status?.heapUsed ?? null,
      elu: w.status ? Math.round(w.status.elu * 1000) / 1000 : null,
      lastHeartbeatSecondsAgo: seconds(now - w.lastHeartbeatAt),
      replace: w.replace,
    }));
}

export type View = 'workers' | 'config' | 'listeners' | 'stats';
export const VIEWS: readonly View[] = ['workers', 'config', 'listeners', 'stats'];

/** The master's own figures: uptime, worker counts, spawns, respawns, reloads, requests. */
export function stats(master: Master): Record<string, unknown> {
  const { counters } = master;
  const byState: Record<WorkerState, number> = { booting: 0, ready: 0, retiring: 0, stopping: 0 };
  const workers = master.workers;
  for (const w of workers) byState[w.state]++;
  const byClass = Object.fromEntries(STATUS_CLASSES.map((c) => [c, 0]));
  let requests = 0;
  for (const s of counters.requests.series()) {
    requests += s.count;
    byClass[s.statusClass] = (byClass[s.statusClass] ?? 0) + s.count;
  }
  return {
    pid: process.pid,
    state: master.state,
    ...master.readiness(),
    startedAt: new Date(counters.startedAt).toISOString(),
    uptimeSeconds: seconds(Date.now() - counters.startedAt),
    target: master.targetWorkers,
    workersByState: byState,
    inFlight: workers.reduce((n, w) => n + (w.status?.inFlight ?? 0), 0),
    spawns: counters.spawns,
    respawns: { ...counters.respawns },
    reloads: { ...counters.reloads },
    // Counted only when the workers count them: with --metrics-bind or --statsd-host.
    requests: master.settings.metricsBind || master.settings.statsdHost ? { total: requests, ...byClass } : null,
  };
}

export function listeners(master: Master): Record<string, unknown> {
  const s = master.settings;
  const listening = master.listeningOn;
  return {
    bind: s.bind,
    listening,
    scheduling: s.scheduling,
    backlog: effectiveBacklog(s.backlog),
    // The kernel's accept queues now (Linux, TCP): connections waiting for a worker to accept them.
    acceptQueues: Object.fromEntries(acceptQueues(listening)),
  };
}

export function show(master: Master, what: View): unknown {
  switch (what) {
    case 'workers':
      return workerRows(master.workers);
    case 'config':
      return printable(master.settings);
    case 'listeners':
      return listeners(master);
    case 'stats':
      return stats(master);
  }
}
