// The master: a small state machine over one map of worker records (Gunicorn's arbiter,
// node:cluster's primary). Signal handlers, worker events and API calls only queue; one loop
// drains the queue through a table of handlers, then ends overdue workers, marks workers past
// their limits for replacement, and reconciles the worker count. Nothing else changes state.
// The loop is synchronous: user code it needs (a reload's onReload hook and config file) runs
// off it, bounded by --hook-timeout, and comes back as an event.
import cluster from 'node:cluster';
import { EventEmitter } from 'node:events';
import { resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import {
  BootError,
  createLogger,
  EXIT,
  encodeBoot,
  errorRecord,
  isWorkerMessage,
  type Logger,
  type Logging,
  memoryLimit,
  type Resolved,
  removePidFile,
  reportFailure,
  SettingError,
  type Settings,
  takePassedSockets,
  WATCHDOG_FD,
  WORKER_ENV,
  type WorkerMessage,
  type WorkerSettings,
  workerEntry,
  writePidFile,
} from '@tsws/worker/internal';
import { Counters } from './counters.js';
import { callHook, within } from './hooks.js';
import { type Readiness, readiness, show, type View } from './inspect.js';
import { type Plan, plan } from './plan.js';
import { watchSources } from './reload-watch.js';
import { type Services, startServices } from './services.js';
import { clearStaleSockets } from './sockets.js';
import { type Candidate, StickyListeners } from './sticky.js';
import {
  doing,
  freeId,
  info,
  isLive,
  maxRssBytes,
  type ReplaceReason,
  readWatchdog,
  retireOrder,
  type WorkerInfo,
  type WorkerRecord,
  withJitter,
} from './workers.js';

/** idle → starting → running → stopping → stopped; a reload happens within running. */
export type MasterState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/** The signals the master answers, as Gunicorn's (the master handles them in the loop, never in the handler). */
export const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1', 'SIGUSR2'] as const;
export type MasterSignal = (typeof SIGNALS)[number];

export interface WorkerExit {
  worker: WorkerInfo;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it ended, in words: `exit code 4`, `timed out`, `retired (reload)`. */
  reason: string;
}

export interface MasterEvents {
  'worker-ready': [worker: WorkerInfo];
  'worker-exit': [exit: WorkerExit];
  /** A worker fell silent past --timeout (or did not boot within --boot-timeout) and was killed. */
  'worker-timeout': [worker: WorkerInfo];
  /** A reload finished (`ok`), or was abandoned with the old workers still serving. */
  reload: [result: { ok: boolean; reason?: string }];
  stop: [result: { code: number }];
}

/**
 * The master stopped itself: a worker could not boot at start (exitCode 3) or load the app (4).
 * The message is the worker's own (the same words `tsws` would say); `cause`, the app's exception.
 */
export class HaltError extends BootError {
  override readonly name = 'HaltError';
  override readonly code = 'ERR_TSWS_HALT';
}

type Event =
  | { kind: 'signal'; signal: MasterSignal }
  | { kind: 'reload'; why: string }
  | { kind: 'scale'; workers: number; by?: Deferred<{ previous: number; target: number }> }
  | { kind: 'kill'; worker: number; done: Deferred<WorkerInfo> }
  /** `drain`: a TERM (or graceful stop() call) that honours --drain-delay. */
  | { kind: 'stop'; graceful: boolean; drain: boolean }
  | { kind: 'ready'; worker: WorkerRecord; listening: string[]; serving: Record<string, string | undefined> }
  | { kind: 'exit'; worker: WorkerRecord; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'reread'; outcome: Reread };

/** A reload's settings, read off the loop: ready to use, or why the reload cannot go on. */
type Reread = { next: { settings: Settings; plan: Plan } } | { error: string };

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** endedFor of a worker killed by killWorker() (`tsws-ctl worker kill`). */
const KILLED = 'killed on request';

/** How often the loop looks at heartbeats and deadlines when nothing else wakes it. */
const TICK_MS = 250;
/** After a worker's own deadline (the graceful timeout), how long before SIGKILL. */
const KILL_GRACE_MS = 2000;
/** Crashes within this window make respawning back off. */
const CRASH_WINDOW_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;

/** Often enough that --timeout notices silence within a quarter of itself; 1 s when off (for the stats). */
function heartbeatMs(timeoutSeconds: number): number {
  return timeoutSeconds > 0 ? Math.min(1000, Math.max(100, Math.round((timeoutSeconds * 1000) / 4))) : 1000;
}

interface Reload {
  generation: number;
  previous: { settings: Settings; plan: Plan; target: number };
  waiters: Array<Deferred<void>>;
}

export class Master extends EventEmitter<MasterEvents> {
  private stateNow: MasterState = 'idle';
  private current!: Settings;
  private planNow!: Plan;
  private logging!: Logging;
  private log!: Logger;
  /** Every worker process alive, by pid. */
  private readonly records = new Map<number, WorkerRecord>();
  /** How many workers should serve (--workers, moved by TTIN/TTOU and scale()). */
  private target = 0;
  private generation = 0;
  private readonly queue: Event[] = [];
  private busy = false;
  private again = false;
  private reloading: Reload | null = null;
  /** A reload reading its settings (off the loop), with its waiters; it becomes `reloading` next. */
  private rereading: Array<Deferred<void>> | null = null;
  private readonly reloadWaiting: Array<Deferred<void>> = [];
  private reloadAgain = false;
  private crashes: number[] = [];
  private spawnAfter = 0;
  private exitCode: number = EXIT.OK;
  private halted: HaltError | null = null;
  private listening: string[] = [];
  /** systemd's sockets (LISTEN_FDS) as fd:// binds: they replace --bind, across reloads too. */
  private passed: string[] = [];
  private tick: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private readonly started = deferred<void>();
  private readonly finished = deferred<number>();
  private readonly onProcessSignal = new Map<MasterSignal, () => void>();
  private pidFile: string | undefined;
  /** A command line whose log is stderr: see reportStartFailure. */
  private plain = false;
  /** Spawns, respawns by cause, reloads and the workers' requests, over the master's life. */
  readonly counters = new Counters();
  /** TERM with --drain-delay: readiness is off and the graceful stop waits for the delay. */
  private draining = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private services: Services | undefined;
  /** --sticky: the master's own listeners, which hand each connection to a worker. */
  private sticky: StickyListeners | undefined;

  /**
   * `resolve` reads the settings from every source: once at start, again at each reload.
   * `plainErrors` (the command line): a start that fails on a user's mistake is one plain line on
   * stderr, and the start's info lines wait until it serves.
   */
  constructor(
    private readonly resolveSettings: () => Promise<Resolved>,
    private readonly options: { plainErrors?: boolean } = {},
  ) {
    super();
    // Nobody need await start() for a halt to be seen; the CLI does, and so can users.
    this.started.promise.catch(() => {});
  }

  get state(): MasterState {
    return this.stateNow;
  }

  /** The settings in force (after a reload, the new ones). */
  get settings(): Settings {
    return this.current;
  }

  /** Every worker process alive now, serving or not. */
  get workers(): WorkerInfo[] {
    return [...this.records.values()].map(info);
  }

  /** Resolves with the exit code (see EXIT) once the master has stopped, however that came about. */
  get done(): Promise<number> {
    return this.finished.promise;
  }

  // ---- the API: each call only queues ------------------------------------------------------

  /**
   * Starts the workers; resolves when every one is ready. Rejects with a SettingError before any
   * worker starts, or a HaltError (with `exitCode`) when a worker cannot boot. Installs handlers
   * for the master's signals until the master stops.
   */
  async start(): Promise<void> {
    if (this.stateNow !== 'idle') throw new Error('tsws-master: start() was already called');
    this.stateNow = 'starting';
    let resolved: Resolved;
    try {
      resolved = await this.resolveSettings();
    } catch (err) {
      // Nothing to log with yet: start() rejects (the command line has said it already).
      this.stateNow = 'stopped';
      this.finished.resolve(EXIT.USAGE);
      throw err;
    }
    this.plain = this.options.plainErrors === true && resolved.settings.errorLog === '-';
    this.logging = createLogger(resolved.settings, {}, { hold: this.plain });
    this.log = this.logging.log;
    try {
      this.passed = takePassedSockets();
      this.use(this.prepare(resolved, null));
      for (const warning of resolved.warnings) this.log.warn(warning);
      if (this.current.pid) this.pidFile = writePidFile(this.current.pid);
      await clearStaleSockets(this.current.bind).catch((err: Error) => {
        throw new HaltError(err.message, EXIT.BOOT_ERROR);
      });
      this.services = await startServices(this, this.current, this.log).catch((err: Error) => {
        throw new HaltError(err.message, EXIT.BOOT_ERROR);
      });
      if (this.planNow.sticky) await this.listenSticky();
    } catch (err) {
      // Nothing was started: a bad setting (exit 2), or a socket file in the way (exit 3).
      this.sticky?.close();
      await this.services?.close();
      this.reportStartFailure(err);
      if (this.pidFile) removePidFile(this.pidFile);
      this.stateNow = 'stopped';
      this.finished.resolve(err instanceof BootError ? err.exitCode : EXIT.USAGE);
      throw err;
    }
    const s = this.current;
    this.log.info(
      {
        app: s.app,
        workers: s.workers,
        scheduling: s.sticky ? 'sticky' : s.scheduling,
        bind: s.bind,
        node: process.versions.node,
      },
      'starting',
    );
    if (this.passed.length)
      this.log.info({ sockets: this.passed }, 'using the sockets systemd passed (LISTEN_FDS) instead of --bind');
    if (process.pid === 1)
      this.log.info(
        'running as PID 1: TERM, INT, QUIT and HUP are handled here; orphaned processes are left to the kernel ' +
          '(Node cannot reap them: run under an init such as tini or `docker run --init`)',
      );
    await callHook(this.log, s, 'onStarting', this);
    // Frozen by node:cluster at the first setupPrimary: a reload cannot change it.
    cluster.schedulingPolicy = this.planNow.policy;
    for (const signal of SIGNALS) {
      const handler = () => this.push({ kind: 'signal', signal });
      this.onProcessSignal.set(signal, handler);
      process.on(signal, handler);
    }
    // Ref'd: between a worker's death and its (backed-off) replacement, nothing else keeps the master alive.
    this.tick = setInterval(() => this.wake(), TICK_MS);
    if (s.reload)
      this.unwatch = watchSources(resolvePath(s.chdir), (path) =>
        this.push({ kind: 'reload', why: `${path} changed` }),
      );
    this.target = s.workers;
    if (s.maxWorkerMemory === 'auto' && memoryLimit() !== undefined)
      this.log.info(
        { memoryLimit: memoryLimit(), maxWorkerMemory: maxRssBytes('auto', s.workers) },
        `--max-worker-memory auto: ${mib(maxRssBytes('auto', s.workers))} MiB per worker ` +
          `(90% of the ${mib(memoryLimit()!)} MiB memory limit over ${s.workers} workers)`,
      );
    this.wake();
    return this.started.promise;
  }

  /** Replaces every worker with one running the app's code afresh; rejects if the reload was abandoned. */
  reload(): Promise<void> {
    const waiter = deferred<void>();
    this.reloadWaiting.push(waiter);
    this.push({ kind: 'reload', why: 'reload()' });
    return waiter.promise;
  }

  /** Sets how many workers serve. */
  scale(workers: number): void {
    if (!Number.isSafeInteger(workers) || workers < 1)
      throw new RangeError(`scale(): expected a whole number >= 1, got ${workers}`);
    this.push({ kind: 'scale', workers });
  }

  /**
   * Stops every worker; resolves with the exit code. Graceful (as TERM): readiness turns off, the
   * workers serve on for --drain-delay, then finish their in-flight requests within
   * --graceful-timeout. Not graceful (as INT): they close their connections now.
   */
  stop({ graceful = true }: { graceful?: boolean } = {}): Promise<number> {
    if (this.stateNow === 'idle') {
      this.stateNow = 'stopped';
      this.finished.resolve(EXIT.OK);
    } else this.push({ kind: 'stop', graceful, drain: graceful });
    return this.finished.promise;
  }

  // ---- the operator's API (tsws-ctl calls these through the control socket) ----------------

  /** `n` more workers (as n TTINs); resolves with the worker count before and after. */
  addWorkers(n = 1): Promise<{ previous: number; target: number }> {
    return this.scaleBy(n);
  }

  /** `n` fewer workers (as n TTOUs), never fewer than one. */
  removeWorkers(n = 1): Promise<{ previous: number; target: number }> {
    return this.scaleBy(-n);
  }

  private scaleBy(n: number): Promise<{ previous: number; target: number }> {
    if (!Number.isSafeInteger(n) || n === 0) throw new RangeError(`expected a whole number >= 1, got ${Math.abs(n)}`);
    const by = deferred<{ previous: number; target: number }>();
    this.push({ kind: 'scale', workers: n, by });
    return by.promise;
  }

  /** SIGKILLs the worker with this number (or pid); the master replaces it. Rejects if there is none. */
  killWorker(worker: number): Promise<WorkerInfo> {
    const done = deferred<WorkerInfo>();
    this.push({ kind: 'kill', worker, done });
    return done.promise;
  }

  /** Reopens the log files, the master's and every worker's (as USR1). */
  reopen(): void {
    this.push({ kind: 'signal', signal: 'SIGUSR1' });
  }

  /** What `tsws-ctl show <view>` prints: the workers, the settings in force, the listeners, or the counters. */
  show(view: View): unknown {
    return show(this, view);
  }

  /** How many workers should serve now (--workers, moved by scaling). */
  get targetWorkers(): number {
    return this.target;
  }

  /** The addresses the workers listen on, as they reported them. */
  get listeningOn(): string[] {
    return this.listening;
  }

  /** Ready for traffic (/readyz): every worker it should have is serving, and it is neither draining nor stopping. */
  readiness(): Readiness {
    return readiness(this.stateNow, this.draining, this.target, this.workers);
  }

  // ---- the loop ---------------------------------------------------------------------------

  private push(event: Event): void {
    this.queue.push(event);
    this.wake();
  }

  private wake(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    try {
      do {
        this.again = false;
        for (let event = this.queue.shift(); event; event = this.queue.shift()) {
          (this.handlers[event.kind] as (e: Event) => void)(event);
        }
        if (this.stateNow === 'idle' || this.stateNow === 'stopped') continue;
        const now = performance.now();
        this.endOverdue(now);
        this.markForReplacement(now);
        this.reconcile(now);
        this.settle();
      } while (this.again || this.queue.length);
    } catch (err) {
      this.log.error({ err }, 'the master loop failed (a bug in tsws-master)');
    } finally {
      this.busy = false;
    }
  }

  private readonly handlers: { [K in Event['kind']]: (event: Extract<Event, { kind: K }>) => void } = {
    signal: (e) => this.signals[e.signal](),
    reload: (e) => this.beginReload(e.why),
    scale: (e) => {
      if (!e.by) return this.setTarget(e.workers);
      const previous = this.target;
      this.setTarget(this.target + e.workers);
      e.by.resolve({ previous, target: this.target });
    },
    kill: (e) => this.killNow(e.worker, e.done),
    stop: (e) => (e.graceful && e.drain ? this.beginDrain() : this.beginStop(e.graceful, EXIT.OK)),
    ready: (e) => this.onReady(e.worker, e.listening, e.serving),
    exit: (e) => this.onExit(e.worker, e.code, e.signal),
    reread: (e) => this.applyReload(e.outcome),
  };

  private readonly signals: Record<MasterSignal, () => void> = {
    /** TERM: graceful stop, after --drain-delay. */
    SIGTERM: () => this.beginDrain(),
    /** INT (Ctrl-C) and QUIT: quick stop; also cuts short a graceful stop under way. */
    SIGINT: () => this.beginStop(false, EXIT.OK),
    SIGQUIT: () => this.beginStop(false, EXIT.OK),
    /** HUP: re-read the settings and replace every worker, new ones first. */
    SIGHUP: () => this.beginReload('SIGHUP'),
    /** TTIN: one more worker. */
    SIGTTIN: () => this.setTarget(this.target + 1),
    /** TTOU: one fewer, never none. */
    SIGTTOU: () => this.setTarget(this.target - 1),
    /** USR1: reopen the log files, the master's and every worker's (after logrotate). */
    SIGUSR1: () => this.reopenLogs(),
    /** USR2: nothing (Gunicorn re-executes itself; Node cannot hand its sockets to a new master). Said, not died of. */
    SIGUSR2: () => this.log.warn({ signal: 'SIGUSR2' }, 'SIGUSR2 ignored'),
  };

  /** Worker messages by tag; unknown tags are ignored (a newer worker may say more). */
  private readonly messages: {
    [K in WorkerMessage['tsws']]: (w: WorkerRecord, m: Extract<WorkerMessage, { tsws: K }>) => void;
  } = {
    ready: (w, m) => {
      w.workerClass = typeof m.workerClass === 'string' ? m.workerClass : null;
      this.push({
        kind: 'ready',
        worker: w,
        listening: m.listening,
        serving: { workerClass: m.workerClass, interface: m.interface, app: m.app },
      });
    },
    // Why it is about to exit: said by onExit, once, in the worker's own words.
    'boot-failed': (w, m) => {
      w.failure = new BootError(
        m.message,
        m.exitCode,
        m.error ? { cause: errorRecord(m.error.type, m.error.message, m.error.stack) } : undefined,
      );
    },
    // A WebSocket publish: to every other worker, one message each (retiring ones keep theirs open).
    publish: (w, m) => {
      for (const other of this.records.values()) if (other !== w) this.send(other, m);
    },
    // Only data: the loop reads it on its next turn (request counts go straight to the totals).
    heartbeat: (w, m) => {
      w.lastBeat = performance.now();
      // Its loop turns: whatever its watchdog said of a block is over.
      w.blocked = null;
      w.status = {
        requests: m.requests,
        inFlight: m.inFlight,
        connections: m.connections,
        oldest: m.oldest,
        rss: m.rss,
        heapUsed: m.heapUsed,
        elu: m.elu,
      };
      if (m.metrics) this.counters.requests.add(m.metrics);
    },
  };

  // ---- settings ---------------------------------------------------------------------------

  /**
   * Checks resolved settings (throws SettingError) and what follows from them for forking; on a
   * reload, settings of the master process itself keep their old values. Changes nothing.
   */
  private prepare(resolved: Resolved, previous: Settings | null): { settings: Settings; plan: Plan } {
    const settings = resolved.settings;
    if (this.passed.length) settings.bind = this.passed;
    if (previous) {
      const restartOnly = [
        ...['scheduling', 'reusePort', 'sticky', 'pid', 'errorLog', 'logFormat', 'reload'],
        ...['controlSocket', 'metricsBind', 'statsdHost', 'statsdPrefix'],
        // --sticky: the master holds the listening sockets, opened once.
        ...(previous.sticky ? (['bind'] as const) : []),
      ] as const;
      for (const name of restartOnly) {
        if (JSON.stringify(settings[name]) !== JSON.stringify(previous[name])) {
          this.log.warn(
            { setting: name, kept: previous[name] },
            `${name} changes take a restart; keeping the old value`,
          );
          (settings as Record<string, unknown>)[name] = previous[name];
        }
      }
    }
    return { settings, plan: plan(settings) };
  }

  private use(next: { settings: Settings; plan: Plan }): void {
    this.current = next.settings;
    this.planNow = next.plan;
    if (this.log) this.log.level = next.settings.logLevel;
    // In shared and rr modes the master opens the sockets, so its umask gives Unix socket files their mode.
    if (next.settings.umask !== undefined) process.umask(next.settings.umask);
  }

  /**
   * --sticky: the master listens before any worker starts (so a port 0 is one port for all).
   * New connections go to the workers serving that are not being replaced; while none of those
   * serves yet (a reload's first moments), to those being replaced.
   */
  private async listenSticky(): Promise<void> {
    const candidates = (): Candidate[] => {
      const serving = [...this.records.values()].filter((w) => w.state === 'ready');
      const current = serving.filter((w) => w.replace === null);
      return current.length ? current : serving;
    };
    this.sticky = new StickyListeners(candidates, this.log, this.current.backlog);
    await this.sticky.listen(this.current.bind).catch((err: Error) => {
      throw err instanceof SettingError ? err : new HaltError(err.message, EXIT.BOOT_ERROR);
    });
  }

  // ---- workers ----------------------------------------------------------------------------

  private fork(): void {
    const s = this.current;
    const id = freeId(this.records.values());
    const settings: WorkerSettings = {
      ...s,
      chdir: resolvePath(s.chdir),
      reusePort: this.planNow.reusePort,
      // --sticky: the workers listen where the master does, and take only what it hands them.
      ...(this.sticky ? { bind: this.sticky.binds } : {}),
    };
    cluster.setupPrimary({
      exec: workerEntry,
      // Not the master's own arguments: the worker's settings come in WORKER_ENV.
      args: [],
      // The watchdog thread's own pipe to us, its fd WATCHDOG_FD: it speaks when the IPC channel cannot.
      stdio: ['inherit', 'inherit', 'inherit', 'ipc', ...(s.watchdog ? ['pipe' as const] : [])],
      // Forked as root: each worker switches to --user/--group itself once its sockets are bound
      // (base.ts), as `tsws` does. Forking it as the user made that switch fail (initgroups
      // needs root) and, with --scheduling reuseport, left it unable to bind a port below 1024.
    });
    const worker = cluster.fork({ [WORKER_ENV]: encodeBoot({ settings, id, heartbeatMs: heartbeatMs(s.timeout) }) });
    const now = performance.now();
    const record: WorkerRecord = {
      id,
      pid: worker.process.pid!,
      generation: this.generation,
      worker,
      state: 'booting',
      forkedAt: now,
      readyAt: 0,
      lastBeat: now,
      status: null,
      replace: null,
      maxRequests: withJitter(s.maxRequests, s.maxRequestsJitter),
      maxLifetimeMs: withJitter(s.maxWorkerLifetime * 1000, s.maxWorkerLifetimeJitter * 1000),
      killAt: Infinity,
      endedFor: null,
      failure: null,
      blocked: null,
      workerClass: null,
    };
    this.counters.spawns++;
    this.records.set(record.pid, record);
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      const handle = (this.messages as Record<string, ((w: WorkerRecord, m: unknown) => void) | undefined>)[
        message.tsws
      ];
      handle?.(record, message);
    });
    if (s.watchdog) readWatchdog(worker.process.stdio[WATCHDOG_FD] as Readable | undefined, record);
    worker.on('exit', (code: number | null, signal: NodeJS.Signals | null) =>
      this.push({ kind: 'exit', worker: record, code, signal }),
    );
    // A send to a worker that just died: its exit event says what matters.
    worker.on('error', (err: Error) => this.log.debug({ err, worker: id }, 'worker channel error'));
    this.log.info({ worker: id, workerPid: record.pid, generation: record.generation }, 'worker started');
    void callHook(this.log, s, 'postFork', this, info(record));
  }

  private send(w: WorkerRecord, message: Parameters<WorkerRecord['worker']['send']>[0]): void {
    if (w.worker.isConnected()) w.worker.send(message, () => {});
  }

  private kill(w: WorkerRecord, signal: NodeJS.Signals): void {
    try {
      process.kill(w.pid, signal);
    } catch {
      // already gone; its exit event is on the way
    }
  }

  /**
   * Ends a worker. A serving one is told to stop (gracefully: it stops accepting and finishes what
   * it has); one still booting gets SIGTERM, which ends it at once until its handlers are in place.
   */
  private end(w: WorkerRecord, state: 'retiring' | 'stopping', graceful: boolean): void {
    const now = performance.now();
    if (w.state === 'booting') {
      this.kill(w, 'SIGTERM');
      w.killAt = now + KILL_GRACE_MS;
    } else {
      const timeoutMs = graceful ? Math.round(this.current.gracefulTimeout * 1000) : 0;
      this.send(w, { tsws: 'stop', graceful, timeoutMs });
      w.killAt = Math.min(w.killAt, now + timeoutMs + KILL_GRACE_MS);
    }
    w.state = state;
  }

  /** `serving`: its worker class, the app's interface and what the app was found to be. */
  private onReady(w: WorkerRecord, listening: string[], serving: Record<string, string | undefined>): void {
    if (w.state !== 'booting') return;
    const now = performance.now();
    w.state = 'ready';
    w.readyAt = now;
    w.lastBeat = now;
    this.log.info({ worker: w.id, workerPid: w.pid, listening, ...serving }, 'worker ready');
    if (this.listening.join() !== listening.join()) {
      // At start the `ready` line says where; later, a reload may have moved it.
      if (this.stateNow === 'running') this.log.info({ listening }, `listening at ${listening.join(', ')}`);
      this.listening = listening;
    }
    this.emit('worker-ready', info(w));
    this.sticky?.flush();
  }

  private onExit(w: WorkerRecord, code: number | null, signal: NodeJS.Signals | null): void {
    this.records.delete(w.pid);
    this.sticky?.workerGone(w.worker);
    const was = w.state;
    const cause = w.endedFor ?? (signal ? `killed by ${signal}` : `exit code ${code}`);
    const expected = was === 'retiring' || was === 'stopping';
    const fields = { worker: w.id, workerPid: w.pid, code, signal };
    let reason: string;
    const failure = w.failure;
    if (expected) {
      reason = was === 'retiring' ? `retired (${w.replace ?? 'scale down'})` : 'stopped';
      this.log.info(fields, `worker ${w.id} exited (${cause})`);
    } else if (signal === 'SIGKILL' && !w.endedFor) {
      reason = 'killed by SIGKILL';
      this.log.error(fields, `worker ${w.id} was killed by SIGKILL: perhaps out of memory?`);
    } else {
      reason = was === 'booting' ? `could not boot (${cause})` : `died (${cause})`;
      // A failed start is said once, by halt().
      if (was !== 'booting' || this.stateNow !== 'starting')
        this.log.error(
          { ...fields, ...(failure?.cause !== undefined ? { err: failure.cause } : {}) },
          `worker ${w.id} ${reason}${failure ? `: ${failure.message}` : ''}`,
        );
    }
    this.emit('worker-exit', { worker: info(w), code, signal, reason });
    void callHook(this.log, this.current, 'workerExit', this, info(w));
    if (expected || (this.stateNow !== 'starting' && this.stateNow !== 'running')) return;
    if (was === 'booting') {
      // Gunicorn's rule: a worker that cannot boot at start halts the master rather than fork forever.
      if (this.stateNow === 'starting') {
        const exitCode = code === EXIT.APP_LOAD_ERROR ? EXIT.APP_LOAD_ERROR : EXIT.BOOT_ERROR;
        const what = exitCode === EXIT.APP_LOAD_ERROR ? 'could not load the app' : 'could not boot';
        this.halt(
          failure
            ? new HaltError(
                failure.message,
                exitCode,
                failure.cause !== undefined ? { cause: failure.cause } : undefined,
              )
            : new HaltError(`worker ${w.id} ${what} (${cause})`, exitCode),
        );
        return;
      }
      // A reload onto code that does not boot is abandoned; the old workers keep serving.
      if (this.reloading && w.generation === this.reloading.generation) {
        this.abandonReload(`a new worker ${reason}${failure ? `: ${failure.message}` : ''}`);
        return;
      }
    }
    this.counters.respawn(w.endedFor === KILLED ? 'killed' : w.endedFor ? 'timeout' : 'crash');
    // Killed on request: nothing is wrong with the app, so no back-off.
    if (w.endedFor !== KILLED) this.noteCrash(performance.now());
  }

  /** Respawning backs off when workers keep dying: 0, then 0.5 s doubling to 30 s, over a minute's crashes. */
  private noteCrash(now: number): void {
    this.crashes = this.crashes.filter((t) => now - t < CRASH_WINDOW_MS);
    this.crashes.push(now);
    const n = this.crashes.length;
    const delay = n <= 1 ? 0 : Math.min(MAX_BACKOFF_MS, 500 * 2 ** (n - 2));
    this.spawnAfter = now + delay;
    if (delay > 0)
      this.log.warn(
        { crashes: n, delayMs: delay },
        `${n} workers died in the last minute; waiting ${delay / 1000} s before starting a replacement`,
      );
  }

  /**
   * Kills what overstayed: a worker silent past --timeout, one not booted within --boot-timeout,
   * one past its stop deadline.
   */
  private endOverdue(now: number): void {
    const { timeout, bootTimeout } = this.current;
    for (const w of this.records.values()) {
      if (now >= w.killAt) {
        w.killAt = Infinity;
        w.endedFor ??= 'did not stop in time';
        this.log.warn({ worker: w.id, workerPid: w.pid }, `worker ${w.id} did not stop in time; killing it`);
        this.kill(w, 'SIGKILL');
      } else if (w.endedFor) {
      } else if (w.state === 'booting' && bootTimeout > 0 && now - w.forkedAt > bootTimeout * 1000) {
        w.endedFor = `not ready within --boot-timeout ${bootTimeout} s`;
        // At start, the halt that follows says it.
        if (this.stateNow !== 'starting')
          this.log.error({ worker: w.id, workerPid: w.pid }, `worker ${w.id} was ${w.endedFor}; killing it`);
        this.kill(w, 'SIGKILL');
        this.emit('worker-timeout', info(w));
      } else if (w.state === 'ready' && timeout > 0 && now - w.lastBeat > timeout * 1000) {
        // A blocked event loop runs no JS handler, so SIGTERM would wait forever: SIGKILL.
        const silent = ((now - w.lastBeat) / 1000).toFixed(1);
        w.endedFor = `timed out: silent for ${silent} s`;
        this.log.error(
          { worker: w.id, workerPid: w.pid, ...doing(w.status, w.blocked) },
          `worker ${w.id} (pid ${w.pid}) timed out: silent for ${silent} s (its event loop is blocked?); killing it`,
        );
        this.kill(w, 'SIGKILL');
        this.emit('worker-timeout', info(w));
      }
    }
  }

  /** Marks workers past --max-requests, --max-worker-memory or --max-worker-lifetime; reconcile() replaces them. */
  private markForReplacement(now: number): void {
    if (this.stateNow !== 'running') return;
    const maxRss = maxRssBytes(this.current.maxWorkerMemory, this.target);
    for (const w of this.records.values()) {
      if (w.state !== 'ready' || w.replace !== null) continue;
      let why: ReplaceReason | null = null;
      if (w.status && w.status.requests >= w.maxRequests) why = 'max-requests';
      else if (maxRss > 0 && w.status && w.status.rss > maxRss) why = 'max-worker-memory';
      else if (now - w.readyAt >= w.maxLifetimeMs) why = 'max-worker-lifetime';
      if (why) {
        w.replace = why;
        this.log.info(
          { worker: w.id, workerPid: w.pid, requests: w.status?.requests, rss: w.status?.rss },
          `worker ${w.id} reached --${why}; replacing it`,
        );
      }
    }
  }

  /**
   * Gunicorn's manage_workers, plus replacement: workers that count (not marked for replacement)
   * are brought to the target; a marked worker retires only once a replacement is ready, so the
   * number serving never drops (reload, recycling).
   */
  private reconcile(now: number): void {
    if (this.stateNow !== 'starting' && this.stateNow !== 'running') return;
    const live = [...this.records.values()].filter(isLive);
    let counting = live.filter((w) => w.replace === null);
    const marked = live.filter((w) => w.replace !== null);
    if (counting.length > this.target) {
      const extra = retireOrder(counting).slice(0, counting.length - this.target);
      for (const w of extra) this.retire(w, 'scale down');
      counting = counting.filter((w) => !extra.includes(w));
    }
    if (counting.length < this.target && now >= this.spawnAfter) {
      for (let n = counting.length; n < this.target; n++) this.fork();
    }
    const ready = counting.filter((w) => w.state === 'ready').length;
    const keep = Math.max(0, this.target - ready);
    for (const w of retireOrder(marked).slice(0, Math.max(0, marked.length - keep))) {
      this.counters.respawn(w.replace!);
      this.retire(w, w.replace!);
    }
  }

  private retire(w: WorkerRecord, why: string): void {
    this.log.info({ worker: w.id, workerPid: w.pid }, `retiring worker ${w.id} (${why})`);
    this.end(w, 'retiring', true);
  }

  /** Moves the state on when the workers say so: start done, reload done, everything stopped. */
  private settle(): void {
    const counting = [...this.records.values()].filter((w) => isLive(w) && w.replace === null);
    const allReady = counting.length >= this.target && counting.every((w) => w.state === 'ready');
    if (this.stateNow === 'starting' && allReady) {
      this.stateNow = 'running';
      this.logging.release();
      this.log.info({ workers: counting.length, listening: this.listening }, 'ready');
      void callHook(this.log, this.current, 'whenReady', this).then(() => this.started.resolve());
    }
    if (this.reloading && allReady && ![...this.records.values()].some((w) => isLive(w) && w.replace === 'reload')) {
      const { waiters, generation } = this.reloading;
      this.reloading = null;
      this.log.info({ generation }, 'reload done');
      this.counters.reloads.ok++;
      this.emit('reload', { ok: true });
      for (const w of waiters) w.resolve();
      this.nextReload();
    }
    if (this.stateNow === 'stopping' && this.records.size === 0) void this.finish();
  }

  // ---- what signals and calls do ----------------------------------------------------------

  private setTarget(workers: number): void {
    if (this.stateNow !== 'starting' && this.stateNow !== 'running') return;
    const next = Math.max(1, workers);
    if (next === this.target) return;
    this.log.info({ from: this.target, to: next }, `workers: ${this.target} -> ${next}`);
    this.target = next;
  }

  private beginReload(why: string): void {
    if (this.stateNow !== 'running' || this.draining) {
      const now = this.draining ? 'draining' : this.stateNow;
      const err = new Error(`cannot reload: the master is ${now}`);
      this.log.warn(`reload (${why}) ignored: the master is ${now}`);
      for (const w of this.reloadWaiting.splice(0)) w.reject(err);
      return;
    }
    if (this.reloading || this.rereading) {
      // One at a time: the next starts when this one ends (its waiters wait for that one).
      this.reloadAgain = true;
      return;
    }
    this.rereading = this.reloadWaiting.splice(0);
    this.log.info({ why }, 'reloading');
    void this.reread().then((outcome) => this.push({ kind: 'reread', outcome }));
  }

  /** Off the loop: the onReload hook, then every settings source again, each within --hook-timeout. */
  private async reread(): Promise<Reread> {
    const before = this.current;
    await callHook(this.log, before, 'onReload', this);
    const read = await within(before.hookTimeout, () => this.resolveSettings());
    if (read.kind === 'timed-out')
      return {
        error:
          `the settings were not read within --hook-timeout ${before.hookTimeout} s ` +
          '(does the config file finish loading?)',
      };
    try {
      if (read.kind === 'failed') throw read.error;
      const next = this.prepare(read.value, before);
      await clearStaleSockets(next.settings.bind.filter((b) => !before.bind.includes(b)));
      return { next };
    } catch (err) {
      return { error: `the settings are not valid: ${(err as Error).message}` };
    }
  }

  /** Back on the loop with the settings read: replace every worker, new ones first. */
  private applyReload(outcome: Reread): void {
    const waiters = this.rereading;
    this.rereading = null;
    // Stopped meanwhile (the only way out of running): beginStop() has told the waiters.
    if (waiters === null) return;
    if ('error' in outcome) {
      this.failReload(outcome.error, waiters);
      return;
    }
    const previous = { settings: this.current, plan: this.planNow, target: this.target };
    this.use(outcome.next);
    this.generation++;
    this.reloading = { generation: this.generation, previous, waiters };
    this.target = this.current.workers;
    for (const w of this.records.values()) if (isLive(w)) w.replace = 'reload';
    // reconcile() now forks the new workers and retires an old one as each new one is ready.
  }

  /**
   * A new worker failed to boot: stop the new ones still booting, keep whatever serves, go back to
   * the old settings.
   */
  private abandonReload(reason: string): void {
    const reload = this.reloading!;
    this.reloading = null;
    for (const w of this.records.values()) {
      if (w.generation === reload.generation && w.state === 'booting') this.end(w, 'stopping', false);
      else if (isLive(w) && w.replace === 'reload') w.replace = null;
    }
    this.use(reload.previous);
    this.target = reload.previous.target;
    this.failReload(reason, reload.waiters);
  }

  private failReload(reason: string, waiters: Array<Deferred<void>>): void {
    this.log.error({ reason }, `reload abandoned: ${reason}; the old workers keep serving`);
    this.counters.reloads.abandoned++;
    this.emit('reload', { ok: false, reason });
    const err = new Error(`reload abandoned: ${reason}`);
    for (const w of waiters) w.reject(err);
    this.nextReload();
  }

  private nextReload(): void {
    if (this.reloadAgain || this.reloadWaiting.length) {
      this.reloadAgain = false;
      this.push({ kind: 'reload', why: 'asked for during the last reload' });
    }
  }

  private halt(err: HaltError): void {
    this.halted = err;
    this.reportStartFailure(err);
    this.beginStop(false, err.exitCode);
  }

  /**
   * A start that failed, said once, as `tsws` says it: on a command line, the start's held info
   * lines are dropped and it is one plain line for a user's mistake, else a fatal line (with the
   * app's stack when it threw).
   */
  private reportStartFailure(err: unknown): void {
    if (this.plain) this.logging.silence();
    reportFailure(err, this.log, this.plain ? { command: 'tsws-master' } : undefined);
  }

  /**
   * TERM with --drain-delay (for a load balancer or Kubernetes that takes the instance out of
   * rotation asynchronously): /readyz turns 503 now, the workers keep serving for the delay, then
   * the graceful stop begins. Another TERM meanwhile changes nothing; INT or QUIT stop at once.
   */
  private beginDrain(): void {
    const delay = this.current.drainDelay;
    if (delay <= 0 || this.stateNow !== 'running') {
      this.beginStop(true, EXIT.OK);
      return;
    }
    if (this.draining) {
      this.log.info('already draining');
      return;
    }
    this.draining = true;
    this.log.info({ drainDelay: delay }, `draining: /readyz answers 503; serving for ${delay} s more, then stopping`);
    this.drainTimer = setTimeout(() => this.push({ kind: 'stop', graceful: true, drain: false }), delay * 1000);
  }

  private killNow(n: number, done: Deferred<WorkerInfo>): void {
    const all = [...this.records.values()];
    const w = all.find((r) => r.id === n && isLive(r)) ?? all.find((r) => r.id === n) ?? this.records.get(n);
    if (!w) {
      done.reject(new RangeError(`no worker ${n} (by number or pid)`));
      return;
    }
    this.log.warn({ worker: w.id, workerPid: w.pid }, `killing worker ${w.id} (pid ${w.pid}) on request`);
    w.endedFor ??= KILLED;
    this.kill(w, 'SIGKILL');
    done.resolve(info(w));
  }

  private beginStop(graceful: boolean, exitCode: number): void {
    clearTimeout(this.drainTimer);
    if (this.stateNow === 'stopping') {
      // INT during a graceful stop: stop now.
      if (!graceful) for (const w of this.records.values()) this.end(w, 'stopping', false);
      return;
    }
    if (this.stateNow !== 'starting' && this.stateNow !== 'running') return;
    const wasStarting = this.stateNow === 'starting';
    this.stateNow = 'stopping';
    this.exitCode = exitCode;
    // Stopped by a signal while starting: what the start held back is part of the story (a halt has silenced it).
    if (!this.halted) this.logging.release();
    this.log.info({ graceful, workers: this.records.size }, graceful ? 'stopping gracefully' : 'stopping');
    const abandoned = [...(this.reloading?.waiters ?? []), ...(this.rereading ?? []), ...this.reloadWaiting.splice(0)];
    this.reloading = null;
    this.rereading = null;
    for (const w of abandoned) w.reject(new Error('reload abandoned: the master is stopping'));
    // The workers stop accepting now; so does the master for them.
    this.sticky?.close();
    for (const w of this.records.values()) this.end(w, 'stopping', graceful);
    if (wasStarting)
      this.started.reject(this.halted ?? new Error('tsws-master: stopped before every worker was ready'));
  }

  private reopenLogs(): void {
    this.logging.reopen();
    for (const w of this.records.values()) this.send(w, { tsws: 'reopen-logs' });
    this.log.info('reopened the log files');
  }

  private finishing = false;

  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    clearInterval(this.tick);
    this.unwatch?.();
    this.sticky?.close();
    await this.services?.close();
    for (const [signal, handler] of this.onProcessSignal) process.off(signal, handler);
    if (this.pidFile) removePidFile(this.pidFile);
    await callHook(this.log, this.current, 'onExit', this);
    this.stateNow = 'stopped';
    this.log.info({ exitCode: this.exitCode }, 'stopped');
    this.logging.flush();
    this.emit('stop', { code: this.exitCode });
    this.finished.resolve(this.exitCode);
  }
}
