// What a master and its workers say to each other. Workers are node:cluster children; messages go
// over the cluster IPC channel as plain objects tagged `tsws`, and unknown tags are ignored.
import type { SeriesDelta } from './metrics.js';
import type { HookName, Settings } from './settings.js';

/** Exit codes are part of the protocol (Gunicorn's numbers): boot failures must not respawn forever. */
export const EXIT = {
  OK: 0,
  /** Something went wrong at run time. */
  ERROR: 1,
  /** A bad command line or setting. */
  USAGE: 2,
  /** The worker could not start: bad worker class, cannot bind, cannot drop privileges. */
  BOOT_ERROR: 3,
  /** The app could not be loaded: missing module or export, or it threw at import time. */
  APP_LOAD_ERROR: 4,
} as const;

/** What a worker is doing, as its last heartbeat said. */
export interface WorkerStatus {
  /** Requests served since the worker started. */
  requests: number;
  /** Requests received and not yet answered. */
  inFlight: number;
  connections: number;
  /** The oldest unanswered request. */
  oldest: { method: string; target: string; ageMs: number } | null;
  /** Resident set size in bytes. */
  rss: number;
  /** V8 heap in use, bytes. */
  heapUsed: number;
  /** Event-loop utilisation since the last heartbeat, 0 to 1. */
  elu: number;
}

export type WorkerMessage =
  /** The app is loaded and every listener is open. */
  | { tsws: 'ready'; workerClass: string; listening: string[]; interface?: string; app?: string }
  /**
   * It could not start and exits with `exitCode` next: the master reports it (once, not once per
   * worker). `error`: the app's own exception, when it threw, with its stack.
   */
  | {
      tsws: 'boot-failed';
      message: string;
      exitCode: number;
      error?: { type: string; message: string; stack?: string | undefined };
    }
  /**
   * Sent every `heartbeatMs` while the event loop turns; silence means it is blocked. With
   * metrics on, `metrics` carries the request counts since the last heartbeat (a last one goes
   * out after a graceful stop, so a retiring worker's counts are not lost).
   */
  | ({ tsws: 'heartbeat'; metrics?: SeriesDelta[] } & WorkerStatus)
  | Publish;

/**
 * A WebSocket publish, from the worker where it happened to the master, and from the master to
 * every other worker (one message each, whatever the number of subscribers). `data`: the text,
 * or base64 when `binary`.
 */
export interface Publish {
  tsws: 'publish';
  topic: string;
  data: string;
  binary: boolean;
}

export type MasterMessage =
  /** Stop accepting, finish in-flight requests within `timeoutMs` (0: right away), then exit 0. */
  | { tsws: 'stop'; graceful: boolean; timeoutMs: number }
  /** Reopen log files (after rotation). */
  | { tsws: 'reopen-logs' }
  /** Another worker's publish, for the subscribers here. */
  | Publish
  | Handed;

/**
 * --sticky: a connection the master accepted, sent with its socket handle (unread), for the
 * server listening on `key` (handedKey() of the master's listening address).
 */
export interface Handed {
  tsws: 'connection';
  key: string;
}

/** Names a listening address the same way in the master and its workers. */
export function handedKey(address: string, port: number): string {
  return `${address}|${port}`;
}

function tagged(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { tsws?: unknown }).tsws === 'string';
}

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return tagged(value);
}

export function isMasterMessage(value: unknown): value is MasterMessage {
  return tagged(value);
}

/**
 * The master hands each worker its resolved settings (everything but hooks) in this environment
 * variable as JSON, with `heartbeatMs` and the worker's `id`.
 */
export const WORKER_ENV = 'TSWS_WORKER';

export type WorkerSettings = Omit<Settings, HookName>;

export interface WorkerBoot {
  settings: WorkerSettings;
  /** The worker's number within the master (1, 2, ...), stable across its replacements' ids. */
  id: number;
  /** How often to heartbeat, in ms. */
  heartbeatMs: number;
}

export function encodeBoot(boot: WorkerBoot): string {
  return JSON.stringify(boot, (_key, value: unknown) => (typeof value === 'function' ? undefined : value));
}

export function decodeBoot(json: string): WorkerBoot {
  return JSON.parse(json) as WorkerBoot;
}
