// Booting a worker, the same way under every supervisor: load the app, choose the worker class,
// construct it, listen. And a tsws-master's worker's life: its settings arrive in TSWS_WORKER,
// the base class speaks the protocol (ready, heartbeats, stop, reopen-logs, the master going
// away), and a failed boot is told to the master, which says it once for all its workers.
import { resolve } from 'node:path';
import { BindError } from '@tsws/core/bind';
import { detectApp, type LoadedApp } from './app-kind.js';
import type { RunOptions, Worker } from './base.js';
import { resolveWorkerClass, type WorkerClass, WorkerClassError } from './classes.js';
import { BootError, reportFailure } from './failure.js';
import { acceptHanded } from './handed.js';
import { AppLoadError, loadApp } from './load.js';
import { type AccessLog, createAccessLog, createLogger } from './logging.js';
import { RequestMetrics } from './metrics.js';
import { PrivilegeError } from './privileges.js';
import { decodeBoot, EXIT, WORKER_ENV, type WorkerMessage, type WorkerSettings } from './protocol.js';
import { startWatchdog, type Watchdog } from './watchdog.js';

/** Loads and detects the app named by the settings; throws BootError(APP_LOAD_ERROR). */
export async function loadSettingsApp(
  settings: Pick<WorkerSettings, 'app' | 'chdir' | 'interface'>,
): Promise<LoadedApp> {
  if (!settings.app)
    throw new BootError('no APP given: name the app to serve as module:export, e.g. app.js:app', EXIT.USAGE);
  try {
    return await detectApp(await loadApp(settings.app, settings.chdir), settings.interface, settings.app);
  } catch (err) {
    if (err instanceof AppLoadError)
      throw new BootError(err.message, EXIT.APP_LOAD_ERROR, err.cause !== undefined ? { cause: err.cause } : undefined);
    // The app's own start-up (a fastify plugin, say) failed.
    throw new BootError(
      `APP "${settings.app}": the app failed to start: ${(err as Error)?.message ?? String(err)}`,
      EXIT.APP_LOAD_ERROR,
      { cause: err },
    );
  }
}

/** --check-config's last step: the app loads and a worker class fits it; says what was found. */
export async function checkApp(settings: WorkerSettings): Promise<string> {
  const chdir = resolve(settings.chdir);
  const app = await loadSettingsApp({ ...settings, chdir });
  let Class: WorkerClass;
  try {
    Class = await resolveWorkerClass(settings.workerClass, app, chdir);
  } catch (err) {
    throw workerClassFailure(err);
  }
  return `APP "${settings.app}" is ${app.kind}, served by worker class ${Class.workerName ?? Class.name}`;
}

function workerClassFailure(err: unknown): unknown {
  if (err instanceof WorkerClassError) return new BootError(err.message, EXIT.BOOT_ERROR);
  if (err instanceof AppLoadError)
    return new BootError(err.message, EXIT.BOOT_ERROR, err.cause !== undefined ? { cause: err.cause } : undefined);
  return err;
}

/**
 * Everything before listening: the app's environment and directory, the app, the worker class,
 * the worker. Throws BootError with the exit code the failure calls for.
 */
export async function prepareWorker(
  settings: WorkerSettings,
  log: Worker['log'],
  extras: {
    accessLog?: AccessLog | undefined;
    watchdog?: Watchdog | undefined;
    metrics?: RequestMetrics | undefined;
  } = {},
): Promise<Worker> {
  Object.assign(process.env, settings.env);
  settings.chdir = resolve(settings.chdir);
  try {
    process.chdir(settings.chdir);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message;
    throw new BootError(`--chdir ${settings.chdir}: ${why}`, EXIT.BOOT_ERROR);
  }
  const app = await loadSettingsApp(settings);
  let Class: WorkerClass;
  try {
    Class = await resolveWorkerClass(settings.workerClass, app, settings.chdir);
  } catch (err) {
    throw workerClassFailure(err);
  }
  const unfit = Class.unsupported?.(settings, app);
  if (unfit) throw new BootError(unfit, EXIT.BOOT_ERROR);
  try {
    const { accessLog, watchdog, metrics } = extras;
    const worker = new Class(watchdog ? watchdog.watch(app) : app, settings, log, {
      ...(accessLog ? { accessLog } : {}),
      ...(metrics ? { metrics } : {}),
    });
    if (settings.workerClass === 'auto')
      log.debug(
        { workerClass: worker.workerName, app: app.kind },
        `worker class auto: ${worker.workerName} for ${app.kind}`,
      );
    return worker;
  } catch (err) {
    throw new BootError(
      `worker class "${settings.workerClass}" failed to construct: ${(err as Error)?.message ?? String(err)}`,
      EXIT.BOOT_ERROR,
      { cause: err },
    );
  }
}

/**
 * Runs the worker until it stops (resolves with the exit code). A failure to listen or to switch
 * user is a BootError: the message alone for what a user can fix, with the cause for anything else.
 */
export async function runPrepared(worker: Worker, options: RunOptions): Promise<number> {
  try {
    return await worker.run(options);
  } catch (err) {
    await worker.stop(false, 0).catch(() => {});
    const plain = err instanceof BindError || err instanceof PrivilegeError;
    throw new BootError((err as Error)?.message ?? String(err), EXIT.BOOT_ERROR, plain ? undefined : { cause: err });
  }
}

/** What a worker tells its master about a failed boot: the error, and the app's own exception when it threw. */
function bootFailed(err: unknown): WorkerMessage {
  const cause = err instanceof BootError ? err.cause : err;
  const e = cause as Error | undefined;
  return {
    tsws: 'boot-failed',
    message: (err as Error)?.message ?? String(err),
    exitCode: err instanceof BootError ? err.exitCode : EXIT.APP_LOAD_ERROR,
    ...(cause !== undefined
      ? { error: { type: e?.name ?? typeof cause, message: e?.message ?? String(cause), stack: e?.stack } }
      : {}),
  };
}

/** Runs this process as a tsws-master's worker; the master's settings arrive in TSWS_WORKER. */
export async function runWorker(): Promise<void> {
  const raw = process.env[WORKER_ENV];
  if (!raw || !process.send) {
    console.error('tsws: this is a worker process, started by tsws-master');
    process.exit(EXIT.USAGE);
  }
  const { settings, id, heartbeatMs } = decodeBoot(raw);
  const logging = createLogger(settings, { worker: id });
  const log = logging.log;
  const accessLog = settings.accessLog ? createAccessLog(settings.accessLog, settings.logFormat) : undefined;
  const exit = (code: number): never => {
    logging.flush();
    accessLog?.flush();
    process.exit(code);
  };
  // An exception outside any request (a timer, an event handler) leaves the process in an unknown
  // state: log it with its stack in the error log (Node's default is a plain dump on stderr) and
  // exit 1; the master replaces the worker, as the tsws CLI's process would be by its supervisor.
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    exit(EXIT.ERROR);
  });
  // The master says it, once for all its workers (one line for a mistake); alone, say it here.
  const failed = (err: unknown): void => {
    const code = err instanceof BootError ? err.exitCode : EXIT.APP_LOAD_ERROR;
    if (!process.connected) {
      reportFailure(err, log, undefined);
      exit(code);
    }
    process.send!(bootFailed(err), undefined, {}, () => exit(code));
  };
  const watchdog = settings.watchdog ? startWatchdog(settings, id, heartbeatMs, log) : undefined;
  let worker: Worker;
  try {
    // The master serves metrics (or sends them to StatsD): count each request for it.
    const metrics = settings.metricsBind || settings.statsdHost ? new RequestMetrics() : undefined;
    // --sticky: the master accepts; the class's listeners take what it hands over.
    if (settings.sticky) acceptHanded();
    worker = await prepareWorker(settings, log, { accessLog, watchdog, metrics });
  } catch (err) {
    return failed(err);
  }
  try {
    exit(await runPrepared(worker, { mode: 'master', heartbeatMs, logging, ...(accessLog ? { accessLog } : {}) }));
  } catch (err) {
    failed(err);
  }
}
