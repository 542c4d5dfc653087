// Booting a worker, the same way under every supervisor: load the app, choose the worker class,
// construct it. And a tsws-master's worker's life: its settings arrive in TSWS_WORKER, the base
// class speaks the protocol (ready, heartbeats, stop, reopen-logs, the master going away).
import { resolve } from 'node:path';
import { detectApp, type LoadedApp } from './app-kind.js';
import type { Worker } from './base.js';
import { resolveWorkerClass, type WorkerClass, WorkerClassError } from './classes.js';
import { AppLoadError, loadApp } from './load.js';
import { type AccessLog, createAccessLog, createLogger, type Logger } from './logging.js';
import { RequestMetrics } from './metrics.js';
import { decodeBoot, EXIT, WORKER_ENV, type WorkerSettings } from './protocol.js';

/** The worker cannot start; `exitCode` is the protocol's answer (APP_LOAD_ERROR or BOOT_ERROR). */
export class BootError extends Error {
  override readonly name = 'BootError';
  readonly code = 'ERR_TSWS_BOOT';
  constructor(
    message: string,
    readonly exitCode: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Logs a boot failure with an `err` field either way: the app's own exception (and its stack)
 * when the app threw, else just the type and message (a user's mistake has no stack worth reading).
 */
export function logBootError(log: Logger, err: unknown): void {
  if (err instanceof BootError || err instanceof AppLoadError) {
    if (err.cause !== undefined) log.fatal({ err: err.cause }, err.message);
    else
      log.fatal(
        {
          err: {
            type: err.name,
            message: err.message,
            exitCode: err instanceof BootError ? err.exitCode : EXIT.APP_LOAD_ERROR,
          },
        },
        err.message,
      );
  } else {
    log.fatal({ err }, (err as Error)?.message ?? String(err));
  }
}

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

/**
 * Everything before listening: the app's environment and directory, the app, the worker class,
 * the worker. Throws BootError with the exit code the failure calls for.
 */
export async function prepareWorker(
  settings: WorkerSettings,
  log: Logger,
  accessLog?: AccessLog,
  metrics?: RequestMetrics,
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
    if (err instanceof WorkerClassError) throw new BootError(err.message, EXIT.BOOT_ERROR);
    if (err instanceof AppLoadError)
      throw new BootError(err.message, EXIT.BOOT_ERROR, err.cause !== undefined ? { cause: err.cause } : undefined);
    throw err;
  }
  try {
    const worker = new Class(app, settings, log, {
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
  const exit = (code: number): never => {
    logging.flush();
    accessLog?.flush();
    process.exit(code);
  };
  const accessLog = settings.accessLog ? createAccessLog(settings.accessLog, settings.logFormat) : undefined;
  // An exception outside any request (a timer, an event handler) leaves the process in an unknown
  // state: log it with its stack in the error log (Node's default is a plain dump on stderr) and
  // exit 1; the master replaces the worker, as the tsws CLI's process would be by its supervisor.
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    exit(EXIT.ERROR);
  });
  let worker: Worker;
  try {
    // The master serves metrics (or sends them to StatsD): count each request for it.
    const metrics = settings.metricsBind || settings.statsdHost ? new RequestMetrics() : undefined;
    worker = await prepareWorker(settings, log, accessLog, metrics);
  } catch (err) {
    logBootError(log, err);
    return exit(err instanceof BootError ? err.exitCode : EXIT.APP_LOAD_ERROR);
  }
  let code: number;
  try {
    code = await worker.run({ mode: 'master', heartbeatMs, logging, ...(accessLog ? { accessLog } : {}) });
  } catch (err) {
    logBootError(log, err);
    return exit(EXIT.BOOT_ERROR);
  }
  exit(code);
}
