// The worker contract, after Gunicorn's workers/base.py: a worker class serves one loaded app on
// the binds in its settings. The runtime constructs it, calls start(), and later stop(). This base
// class, not each subclass, speaks to whatever supervises the process: the tsws master (ready,
// heartbeats, stop and reopen-logs messages, the master going away), PM2 (`ready`, SIGINT) or a
// terminal/systemd (SIGTERM, SIGINT). So every class, built in or custom, runs under all of them.
import cluster from 'node:cluster';
import type http from 'node:http';
import type { AccessRecord } from '@tsws/core';
import type { LoadedApp, NodeListener } from './app-kind.js';
import { fetchListener } from './fetch-adapter.js';
import type { AccessLog, Logger, Logging } from './logging.js';
import type { RequestMetrics } from './metrics.js';
import { dropPrivileges } from './privileges.js';
import { EXIT, isMasterMessage, type WorkerMessage, type WorkerSettings, type WorkerStatus } from './protocol.js';

/** What a worker class reports for each heartbeat (the base adds the process's memory and event-loop use). */
export type WorkerStats = Omit<WorkerStatus, 'rss' | 'heapUsed' | 'elu'>;

export interface WorkerOptions {
  /** The access log, when --access-log is set: a class writes one record per response. */
  accessLog?: AccessLog;
  /** Request metrics, when the master serves them: counted per response, sent with each heartbeat. */
  metrics?: RequestMetrics;
}

/** Counts requests for stats(): served, in flight, and the oldest unanswered one. */
export class RequestCounter {
  requests = 0;
  private readonly active = new Set<{ method: string; target: string; since: number }>();

  /** A request arrived; call the returned function once its response is complete (or abandoned). */
  begin(method: string, target: string): () => void {
    this.requests++;
    const entry = { method, target, since: Date.now() };
    this.active.add(entry);
    return () => this.active.delete(entry);
  }

  stats(connections: number): WorkerStats {
    let oldest: WorkerStats['oldest'] = null;
    for (const e of this.active) {
      // Insertion order: the first entry is the oldest.
      oldest = { method: e.method, target: e.target, ageMs: Date.now() - e.since };
      break;
    }
    return { requests: this.requests, inFlight: this.active.size, connections, oldest };
  }
}

/** How the process is supervised; chosen by the runtime, never by a worker class. */
export interface RunOptions {
  /**
   * `master`: a tsws-master's worker (tagged messages and heartbeats; SIGTERM drains, SIGINT and
   * SIGQUIT stop at once). `standalone`: the tsws CLI, PM2, systemd or your own node:cluster
   * program (SIGTERM and SIGINT drain, a second one stops at once; PM2 gets its `ready`).
   */
  mode: 'master' | 'standalone';
  /** Heartbeat period in ms (master mode). */
  heartbeatMs?: number;
  /** Log files to reopen on `reopen-logs` or SIGUSR1. */
  logging?: Pick<Logging, 'reopen'>;
  accessLog?: AccessLog;
  /** Called once listening and (where asked) running as --user/--group, before ready goes out. */
  onReady?(urls: string[]): void;
}

const kState = Symbol('tsws.worker.state');

/**
 * A worker class. Subclasses implement three methods and keep to these rules:
 *
 * - The constructor `(app, settings, log, options)` only stores what it is given: it runs before
 *   anything listens and must not touch the process (no listening, no timers, no signals).
 * - `start()` opens every address in `settings.bind` (the `listenBind()` helper parses them all)
 *   and starts serving `app`; it resolves with the printable addresses once every listener is
 *   open, and rejects (with the reason) if any cannot be.
 * - `stop(graceful, timeoutMs)` stops accepting at once. Graceful: answer every request already
 *   received, close each connection after its last response, and after `timeoutMs` cut whatever
 *   is left. Not graceful: close everything now. It resolves once every connection is closed.
 * - `stats()` says what the worker is doing; the default reads `this.requests`, which counts
 *   every request that goes through `nodeListener()`. A class serving requests its own way calls
 *   `this.requests.begin(method, target)` and the function it returns. Heartbeats carry these.
 * - The event loop must keep turning: heartbeats are timers, and a worker whose loop is blocked
 *   for `--timeout` seconds is killed by the master.
 *
 * `run()` (not for overriding) drives a class under its supervisor; see RunOptions.
 */
export abstract class Worker {
  /** The name in logs and the master's `ready` message; the class name when not set. */
  static workerName?: string;
  /** The app interfaces this class serves; the runtime refuses others with a clear message. */
  static serves: readonly LoadedApp['interface'][] = ['fetch', 'node'];

  protected readonly requests = new RequestCounter();
  private [kState]: { stopping: Promise<void> | null } = { stopping: null };

  constructor(
    readonly app: LoadedApp,
    readonly settings: WorkerSettings,
    readonly log: Logger,
    readonly options: WorkerOptions = {},
  ) {}

  abstract start(): Promise<string[]>;
  abstract stop(graceful: boolean, timeoutMs: number): Promise<void>;

  stats(): WorkerStats {
    return this.requests.stats(0);
  }

  /** This class's name, as in `-k`. */
  get workerName(): string {
    const ctor = this.constructor as typeof Worker;
    return ctor.workerName ?? ctor.name;
  }

  /**
   * The app as a node:http request listener, whatever its interface (fetch apps go through the
   * adapter), with every request counted in `this.requests` and written to the access log.
   */
  protected nodeListener(): NodeListener {
    const app = this.app;
    const inner: NodeListener =
      app.interface === 'node'
        ? app.listener
        : fetchListener(app.fetch, { log: this.log, limitRequestBody: this.settings.limitRequestBody });
    const access = this.options.accessLog;
    const metrics = this.options.metrics;
    const timed = access !== undefined || metrics !== undefined;
    return (req, res) => {
      const done = this.requests.begin(req.method ?? '', req.url ?? '');
      const started = timed ? performance.now() : 0;
      const written = timed ? req.socket.bytesWritten : 0;
      res.once('close', () => {
        done();
        if (!timed) return;
        const record = accessRecord(req, res, started, written);
        if (access) access.write(record);
        metrics?.observe(record.method, record.status, record.durationMs / 1000, record.requestBytes, record.bytes);
      });
      inner(req, res);
    };
  }

  /**
   * Starts the worker under its supervisor and keeps it until it is told to stop (a message, a
   * signal, the parent going away). Resolves with the process's exit code once stopped; the
   * caller exits. Rejects if start() does (the caller maps that to EXIT.BOOT_ERROR).
   */
  async run(options: RunOptions): Promise<number> {
    const { settings, log } = this;
    const master = options.mode === 'master';
    const pm2 = !master && process.env.pm_id !== undefined && typeof process.send === 'function';
    const hasParent = typeof process.send === 'function';
    if (settings.umask !== undefined) process.umask(settings.umask);

    const urls = await this.start();
    // Privileges go only once every socket is bound (ports below 1024 need root).
    dropPrivileges(settings.user, settings.group, log);
    options.onReady?.(urls);

    let resolveStopped!: (code: number) => void;
    const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
    let beat: NodeJS.Timeout | undefined;
    const send = (message: WorkerMessage | string) => {
      if (process.connected) process.send?.(message);
    };
    // The first heartbeat reports the event loop's use since the process started; later ones, since the last.
    let loop: ReturnType<typeof performance.eventLoopUtilization> | undefined;
    const heartbeat = () => {
      const now = performance.eventLoopUtilization();
      const elu = (loop ? performance.eventLoopUtilization(now, loop) : now).utilization;
      loop = now;
      const { rss, heapUsed } = process.memoryUsage();
      const metrics = this.options.metrics?.take();
      send({ tsws: 'heartbeat', ...this.stats(), rss, heapUsed, elu, ...(metrics ? { metrics } : {}) });
    };

    const stop = (graceful: boolean, timeoutMs: number, why: string) => {
      const state = this[kState];
      if (state.stopping) {
        // A second TERM/INT while draining: stop now (Ctrl-C twice).
        if (!master && (why === 'SIGINT' || why === 'SIGTERM')) void this.stop(false, 0);
        return;
      }
      // Told by its master, which says so itself: its own line would only repeat it.
      log[why === 'master' ? 'debug' : 'info']({ graceful, timeoutMs, why }, graceful ? 'draining' : 'stopping');
      clearInterval(beat);
      state.stopping = this.stop(graceful, timeoutMs).then(
        async () => {
          // The last counts, before leaving: what a retiring worker served still adds up.
          if (master && this.options.metrics) heartbeat();
          cleanup();
          await leaveCluster();
          resolveStopped(EXIT.OK);
        },
        async (err: unknown) => {
          log.error({ err }, 'the worker failed to stop cleanly');
          cleanup();
          await leaveCluster();
          resolveStopped(EXIT.ERROR);
        },
      );
    };
    const grace = this.drainBudget(pm2);

    const onMessage = (message: unknown) => {
      // PM2 sends 'shutdown' instead of SIGINT when shutdown_with_message is set.
      if (message === 'shutdown') return stop(true, grace, 'shutdown message');
      if (!isMasterMessage(message)) return;
      if (message.tsws === 'stop') stop(message.graceful, message.timeoutMs, 'master');
      else if (message.tsws === 'reopen-logs') reopen();
    };
    const reopen = () => {
      options.logging?.reopen();
      options.accessLog?.reopen();
    };
    // Signals Node would die of without a word; under a master, HUP is the master's (a terminal
    // hanging up sends it to every process in the group).
    const onSignal = (signal: NodeJS.Signals) => {
      if (signal === 'SIGHUP' && !master) {
        reopen();
        log.info({ signal }, 'SIGHUP: reopened the log files (one process cannot reload its code: see tsws --help)');
      } else if (signal === 'SIGUSR1' && !master) {
        reopen();
        log.info({ signal }, 'reopened the log files');
      } else if (signal === 'SIGUSR1') {
        reopen();
      } else {
        log[master ? 'debug' : 'warn']({ signal }, `${signal} ignored`);
      }
    };
    // The parent (master, PM2's daemon, your cluster primary) is gone: finish and leave, never orphaned.
    const onDisconnect = () => stop(true, grace, 'parent gone');
    const handlers: Array<[NodeJS.Signals, () => void]> = [
      ['SIGTERM', () => stop(true, grace, 'SIGTERM')],
      // To a master's worker, INT and QUIT mean "now"; to a lone process (and PM2) INT is Ctrl-C or a stop: drain.
      ['SIGINT', () => (master ? stop(false, 0, 'SIGINT') : stop(true, grace, 'SIGINT'))],
      ['SIGQUIT', () => stop(false, 0, 'SIGQUIT')],
      ['SIGUSR1', () => onSignal('SIGUSR1')],
      ['SIGHUP', () => onSignal('SIGHUP')],
      ['SIGUSR2', () => onSignal('SIGUSR2')],
    ];
    for (const [signal, handler] of handlers) process.on(signal, handler);
    if (hasParent) {
      process.on('message', onMessage);
      process.on('disconnect', onDisconnect);
      // node:cluster's own 'disconnect' handler exits a worker at once when the channel closes
      // unasked (its primary died), cutting every request in flight, unless this flag is set.
      if (cluster.isWorker) cluster.worker!.exitedAfterDisconnect = true;
    }
    const cleanup = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
    };

    const { interface: kind } = this.app;
    // Under a master, its `worker ready` line says this.
    log[master ? 'debug' : 'info'](
      { listening: urls, workerClass: this.workerName, interface: kind, app: this.app.kind },
      `listening on ${urls.join(', ')} (worker class ${this.workerName}, ${kind} app)`,
    );
    if (master) {
      send({ tsws: 'ready', workerClass: this.workerName, listening: urls, interface: kind, app: this.app.kind });
      if (options.heartbeatMs) {
        beat = setInterval(heartbeat, options.heartbeatMs);
        heartbeat();
      }
    } else if (pm2) {
      // PM2's wait_ready waits for exactly this string.
      send('ready');
    } else if (hasParent && cluster.isWorker) {
      // Your own node:cluster primary can wait for this.
      send({ tsws: 'ready', workerClass: this.workerName, listening: urls });
    }
    return stopped;
  }

  /**
   * How long a graceful stop from a signal may take: --graceful-timeout, but under PM2 a little
   * less than its kill_timeout, so we cut lingering connections ourselves before its SIGKILL.
   */
  private drainBudget(pm2: boolean): number {
    const ms = this.settings.gracefulTimeout * 1000;
    const kill = Number(process.env.kill_timeout);
    if (pm2 && Number.isFinite(kill) && kill > 0) return Math.max(0, Math.min(ms, kill - 250));
    return ms;
  }
}

/**
 * A node:cluster worker (under tsws-master, PM2 or your own primary) must not exit the moment its
 * listeners close: with round-robin scheduling the primary may already have handed it a new
 * connection, and node:cluster returns such a connection to the primary only if the worker is
 * still alive to refuse it; otherwise it hangs in the primary forever (seen under `pm2 reload`,
 * about one request in 500). cluster.worker.disconnect() waits for the primary's acknowledgement,
 * which comes after every hand-off it sent us, so once it is done nothing is in flight.
 */
function leaveCluster(timeoutMs = 2000): Promise<void> {
  if (!cluster.isWorker || !process.connected) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    process.once('disconnect', () => {
      clearTimeout(timer);
      resolve();
    });
    cluster.worker!.disconnect();
  });
}

/**
 * One access record; body bytes are what the socket wrote for this response less its header
 * block. node:http does not count request body bytes: the declared Content-Length stands in (a
 * chunked body counts 0).
 */
function accessRecord(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  started: number,
  writtenBefore: number,
): AccessRecord {
  const socket = req.socket;
  const header = (res as { _header?: unknown })._header;
  return {
    method: req.method ?? '',
    target: req.url ?? '',
    httpVersion: req.httpVersion === '1.0' ? '1.0' : '1.1',
    status: res.statusCode,
    bytes: Math.max(
      0,
      (socket?.bytesWritten ?? 0) -
        writtenBefore -
        (typeof header === 'string' ? Buffer.byteLength(header, 'latin1') : 0),
    ),
    requestBytes: Number(req.headers['content-length']) || 0,
    durationMs: performance.now() - started,
    remoteAddress: socket?.remoteAddress ?? '',
    userAgent: String(req.headers['user-agent'] ?? ''),
    referer: String(req.headers.referer ?? ''),
  };
}
