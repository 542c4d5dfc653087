// A master's worker keeps a watchdog: a small thread that sees what the main thread cannot say
// once its event loop is blocked. The main thread writes the request each handler is running into
// shared memory as it enters it (one encodeInto and a few stores), and bumps a counter on a
// timer. The thread (watchdog-thread.ts) reads both: when the counter stops, it tells the master,
// on a pipe of their own (fd WATCHDOG_FD), which request the loop is blocked in, so the master's
// timeout line names it even when the loop blocked before any heartbeat could; and when the
// master is gone while the loop stays blocked, it ends the worker, which no one else would.
import { Worker as Thread } from 'node:worker_threads';
import type { LoadedApp, NodeListener } from './app-kind.js';
import type { Logger } from './logging.js';
import type { WorkerSettings } from './protocol.js';

/** The worker's fd of the pipe to its master's watchdog reader (stdio[4] of the fork). */
export const WATCHDOG_FD = 4;

/** Int32 slots at the head of the shared memory, then the method's and the target's bytes. */
export const SLOT = { PROGRESS: 0, ENTERED: 1, IN_HANDLER: 2, METHOD: 3, METHOD_LENGTH: 4, TARGET_LENGTH: 5 } as const;
/** The methods written as a number (their index + 1); any other is written out, as 0. */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'] as const;
const METHOD_CODES: Record<string, number> = Object.assign(
  Object.create(null) as Record<string, number>,
  Object.fromEntries(METHODS.map((m, i) => [m, i + 1])),
);
export const HEAD_BYTES = 32;
export const METHOD_BYTES = 32;
/** A longer target is cut: the line needs its start. */
export const TARGET_BYTES = 512;

/** What the thread tells the master, a JSON line each tick while the loop is blocked. */
export interface WatchdogReport {
  blockedMs: number;
  /** Requests that entered the app since the worker started. */
  requests: number;
  /** The request whose handler the loop is blocked in, if it is in one. */
  request: { method: string; target: string; ageMs: number } | null;
}

export interface WatchdogData {
  memory: SharedArrayBuffer;
  /** How often the main thread bumps PROGRESS, and the thread looks. */
  tickMs: number;
  /** The master's --timeout, in ms (0: off): how long an orphan's loop may stay blocked. */
  timeoutMs: number;
  gracefulMs: number;
  worker: number;
  errorLog: string;
  json: boolean;
}

export interface Watchdog {
  /** The app with every handler call recorded in the shared memory. */
  watch(app: LoadedApp): LoadedApp;
}

/** Starts the thread (unref'd: it never keeps the process alive) and the main thread's tick. */
export function startWatchdog(settings: WorkerSettings, id: number, heartbeatMs: number, log: Logger): Watchdog {
  const memory = new SharedArrayBuffer(HEAD_BYTES + METHOD_BYTES + TARGET_BYTES);
  const slots = new Int32Array(memory, 0, HEAD_BYTES / 4);
  const method = new Uint8Array(memory, HEAD_BYTES, METHOD_BYTES);
  const target = new Uint8Array(memory, HEAD_BYTES + METHOD_BYTES, TARGET_BYTES);
  const tickMs = Math.max(50, Math.round(heartbeatMs / 2));
  const data: WatchdogData = {
    memory,
    tickMs,
    timeoutMs: settings.timeout * 1000,
    gracefulMs: settings.gracefulTimeout * 1000,
    worker: id,
    errorLog: settings.errorLog,
    json: settings.logFormat === 'json' || (settings.logFormat === 'auto' && !process.stderr.isTTY),
  };
  const thread = new Thread(new URL('./watchdog-thread.js', import.meta.url), {
    workerData: data,
    // It holds a few numbers and one socket: keep its heap (and so its RSS) small.
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2, stackSizeMb: 1 },
  });
  thread.unref();
  thread.on('error', (err) => log.warn({ err }, 'the watchdog thread failed; timeouts are still enforced'));
  setInterval(() => Atomics.add(slots, SLOT.PROGRESS, 1), tickMs).unref();

  // The cheapest way measured (bench/master/watchdog.mjs --micro): a number for a common method,
  // one encodeInto for the target (a latin1 write or a charCodeAt loop cost more on Node 20).
  // Plain stores: the thread reads them only once the loop has stopped, when nothing moves.
  const encoder = new TextEncoder();
  const enter = (m: string, t: string) => {
    const code = METHOD_CODES[m];
    if (code === undefined) {
      slots[SLOT.METHOD] = 0;
      slots[SLOT.METHOD_LENGTH] = encoder.encodeInto(m, method).written;
    } else slots[SLOT.METHOD] = code;
    slots[SLOT.TARGET_LENGTH] = encoder.encodeInto(t, target).written;
    slots[SLOT.ENTERED]!++;
    slots[SLOT.IN_HANDLER] = 1;
  };
  return {
    watch(app) {
      if (app.interface === 'fetch') {
        const fetch = app.fetch;
        return {
          ...app,
          fetch: (request, info) => {
            enter(request.method, request.url);
            try {
              return fetch(request, info);
            } finally {
              slots[SLOT.IN_HANDLER] = 0;
            }
          },
        };
      }
      const listener = app.listener;
      const watched: NodeListener = (req, res) => {
        enter(req.method ?? '', req.url ?? '');
        try {
          listener(req, res);
        } finally {
          slots[SLOT.IN_HANDLER] = 0;
        }
      };
      return { ...app, listener: watched };
    },
  };
}
