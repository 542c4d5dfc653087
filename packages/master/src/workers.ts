// The master's record of each worker process: what it is doing, as far as the master knows.
import type { Worker } from 'node:cluster';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import {
  type BootError,
  memoryLimit,
  type Settings,
  type WatchdogReport,
  type WorkerStatus,
} from '@tsws/worker/internal';

/**
 * booting: forked, loading the app, not yet listening. ready: serving. retiring: told to stop
 * gracefully because a replacement is serving (reload, recycling, scale down). stopping: the
 * whole master is stopping, or the worker is being ended for failing to boot.
 */
export type WorkerState = 'booting' | 'ready' | 'retiring' | 'stopping';

/** Why a serving worker is being replaced; its replacement starts first and it retires once that one is ready. */
export type ReplaceReason = 'reload' | 'max-requests' | 'max-worker-memory' | 'max-worker-lifetime';

export interface WorkerRecord {
  /**
   * The worker's number, 1..n: the lowest not used by a living worker, so a crashed worker's
   * replacement takes its number.
   */
  readonly id: number;
  readonly pid: number;
  /** Bumped by each reload: tells old workers from new while both serve. */
  readonly generation: number;
  readonly worker: Worker;
  state: WorkerState;
  /** Monotonic ms (performance.now()). */
  readonly forkedAt: number;
  readyAt: number;
  lastBeat: number;
  /** What its last heartbeat said; null before the first. */
  status: WorkerStatus | null;
  /** Set when it should be replaced; null for a worker that counts towards --workers. */
  replace: ReplaceReason | null;
  /** Its own limits, jitter included: Infinity when off. */
  readonly maxRequests: number;
  readonly maxLifetimeMs: number;
  /** When the master gives up waiting and sends SIGKILL; Infinity while none is due. */
  killAt: number;
  /** Why the master ended it (timeout, boot timeout), for the exit line; null when it left on its own. */
  endedFor: string | null;
  /** Why it could not boot, in its own words (its `boot-failed` message); null when it did not say. */
  failure: BootError | null;
  /** What its watchdog last said about a blocked event loop (monotonic `at`); null while it turns. */
  blocked: (WatchdogReport & { at: number }) | null;
  /** The worker class its `ready` message named; null before. */
  workerClass: string | null;
}

/** What the API, events and hooks see of a worker. */
export interface WorkerInfo {
  id: number;
  pid: number;
  state: WorkerState;
  generation: number;
  /** Why it is being replaced, if it is. */
  replace: ReplaceReason | null;
  /** Requests served, connections and in-flight requests, as its last heartbeat said. */
  status: WorkerStatus | null;
  /** The worker class serving (`tsws`, `node`, a custom one); null until it is ready. */
  workerClass: string | null;
  /** When it was started and when its last heartbeat came, in ms since the epoch. */
  startedAt: number;
  lastHeartbeatAt: number;
}

/** A monotonic time (performance.now()) as ms since the epoch. */
const wallClock = (t: number) => Math.round(Date.now() - (performance.now() - t));

export function info(w: WorkerRecord): WorkerInfo {
  return {
    id: w.id,
    pid: w.pid,
    state: w.state,
    generation: w.generation,
    replace: w.replace,
    status: w.status,
    workerClass: w.workerClass,
    startedAt: wallClock(w.forkedAt),
    lastHeartbeatAt: wallClock(w.lastBeat),
  };
}

/** Serving or about to: the workers that answer requests now or soon. */
export function isLive(w: WorkerRecord): boolean {
  return w.state === 'booting' || w.state === 'ready';
}

/** The lowest worker number no living worker holds. */
export function freeId(workers: Iterable<WorkerRecord>): number {
  const taken = new Set<number>();
  for (const w of workers) taken.add(w.id);
  let id = 1;
  while (taken.has(id)) id++;
  return id;
}

/** Which to let go first: workers not yet serving, then the oldest (as Gunicorn's manage_workers). */
export function retireOrder(workers: WorkerRecord[]): WorkerRecord[] {
  return [...workers].sort(
    (a, b) => Number(a.state === 'ready') - Number(b.state === 'ready') || a.forkedAt - b.forkedAt,
  );
}

/** A limit plus up to `jitter` more, at random, so workers started together do not all retire together; 0 is off. */
export function withJitter(limit: number, jitter: number): number {
  if (limit <= 0) return Infinity;
  return limit + Math.floor(Math.random() * (jitter + 1));
}

/**
 * --max-worker-memory in bytes (0: off). `auto`: 90% of the cgroup's memory limit shared among
 * `workers` (the rest for the master and a replacement starting up); off without a limit.
 */
export function maxRssBytes(setting: Settings['maxWorkerMemory'], workers: number): number {
  if (setting !== 'auto') return setting * 1024 * 1024;
  const limit = memoryLimit();
  return limit === undefined ? 0 : Math.floor((limit * 0.9) / Math.max(1, workers));
}

/**
 * For the timeout line: what the worker was doing, as its last heartbeat said, and as its
 * watchdog said since (a loop that blocked in a request's handler before any heartbeat told of it).
 */
export function doing(status: WorkerStatus | null, blocked: WorkerRecord['blocked']): Record<string, unknown> {
  const age = (ms: number) => `${(ms / 1000).toFixed(1)} s old`;
  const out: Record<string, unknown> = status
    ? { inFlight: status.inFlight, connections: status.connections, requests: status.requests }
    : { inFlight: 'unknown (no heartbeat yet)' };
  if (status?.oldest) out.oldest = `${status.oldest.method} ${status.oldest.target} (${age(status.oldest.ageMs)})`;
  const request = blocked?.request;
  if (!blocked || !request) return out;
  const ageMs = request.ageMs + (performance.now() - blocked.at);
  out.blockedIn = `${request.method} ${request.target} (${age(ageMs)})`;
  out.requests = Math.max(status?.requests ?? 0, blocked.requests);
  // Entered after the last heartbeat: in flight, and the oldest if the heartbeat knew of none.
  if (!status || status.inFlight === 0 || !status.oldest) {
    out.inFlight = (status?.inFlight ?? 0) + 1;
    out.oldest ??= out.blockedIn;
  }
  return out;
}

/** Keeps the watchdog's last word on `record` (the pipe carries a JSON line each time it speaks). */
export function readWatchdog(pipe: Readable | null | undefined, record: WorkerRecord): void {
  if (!pipe) return;
  let buffer = '';
  pipe.setEncoding('utf8');
  pipe.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        record.blocked = { ...(JSON.parse(line) as WatchdogReport), at: performance.now() };
      } catch {
        // not a line of ours
      }
    }
  });
  pipe.on('error', () => {});
}
