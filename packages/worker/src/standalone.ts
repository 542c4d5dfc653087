// One process serving the app: the `tsws` command, and `runApp()` for programs of your own (a
// node:cluster primary's workers, say). Under a terminal, systemd (with socket activation) or
// PM2, the base class handles the signals; this file owns the process's edges: the sockets
// systemd passed, the pid file, logging, and reporting a failed boot.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Worker } from './base.js';
import { resolveSettings } from './config.js';
import { type AccessLog, createAccessLog, createLogger, type Logging } from './logging.js';
import { EXIT } from './protocol.js';
import { BootError, logBootError, prepareWorker } from './runtime.js';
import type { Settings } from './settings.js';
import { passedSockets, takePassedSockets } from './systemd.js';

export interface StandaloneOptions {
  /** --bind was given (rather than defaulted): sockets from systemd are added to it instead of replacing it. */
  bindGiven?: boolean;
  /** Where a user's mistake goes when the error log is standard error: one plain line (the CLI). */
  plainErrors?: boolean;
}

function writePidFile(path: string): string {
  const file = resolve(path);
  writeFileSync(file, `${process.pid}\n`);
  return file;
}

function removePidFile(file: string | undefined): void {
  if (!file) return;
  try {
    if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file);
  } catch {
    // gone already, or no longer ours to remove (privileges dropped)
  }
}

function report(err: unknown, logging: Logging, settings: Settings, plain: boolean): void {
  const userMistake = err instanceof BootError && err.cause === undefined;
  if (plain && userMistake && settings.errorLog === '-') process.stderr.write(`tsws: error: ${err.message}\n`);
  else logBootError(logging.log, err);
}

/**
 * Serves `settings.app` in this process until SIGTERM or SIGINT (or the parent process going
 * away), drains, and resolves with the exit code (EXIT.*). Boot failures are reported here.
 */
export async function runStandalone(settings: Settings, options: StandaloneOptions = {}): Promise<number> {
  // systemd socket activation: the passed sockets replace the default bind.
  const names = passedSockets().map((s) => s.name);
  const passed = takePassedSockets();
  if (passed.length) settings.bind = options.bindGiven ? [...settings.bind, ...passed] : passed;

  const logging = createLogger(settings);
  const { log } = logging;
  const accessLog: AccessLog | undefined = settings.accessLog
    ? createAccessLog(settings.accessLog, settings.logFormat)
    : undefined;
  const finish = (code: number) => {
    logging.flush();
    accessLog?.flush();
    return code;
  };
  if (passed.length) log.info({ sockets: passed, names }, `serving ${passed.length} socket(s) passed by systemd`);

  const onFatal = (err: unknown) => {
    log.fatal({ err }, 'uncaught exception');
    finish(EXIT.ERROR);
    process.exit(EXIT.ERROR);
  };
  process.on('uncaughtException', onFatal);

  let worker: Worker;
  try {
    worker = await prepareWorker(settings, log, accessLog);
  } catch (err) {
    report(err, logging, settings, options.plainErrors ?? false);
    process.off('uncaughtException', onFatal);
    return finish(err instanceof BootError ? err.exitCode : EXIT.APP_LOAD_ERROR);
  }
  let pidFile: string | undefined;
  try {
    if (settings.pid) pidFile = writePidFile(settings.pid);
  } catch (err) {
    report(
      new BootError(`--pid ${settings.pid}: ${(err as Error).message}`, EXIT.BOOT_ERROR),
      logging,
      settings,
      options.plainErrors ?? false,
    );
    process.off('uncaughtException', onFatal);
    return finish(EXIT.BOOT_ERROR);
  }
  let code: number;
  try {
    code = await worker.run({ mode: 'standalone', logging, ...(accessLog ? { accessLog } : {}) });
    log.info({ code }, 'stopped');
  } catch (err) {
    await worker.stop(false, 0).catch(() => {});
    // Binding or switching user failed: the reason is the whole message.
    report(
      new BootError((err as Error)?.message ?? String(err), EXIT.BOOT_ERROR),
      logging,
      settings,
      options.plainErrors ?? false,
    );
    code = EXIT.BOOT_ERROR;
  }
  removePidFile(pidFile);
  process.off('uncaughtException', onFatal);
  return finish(code);
}

/** runApp's options: the settings you would give `tsws`, by their config-file names. */
export type AppOptions = Partial<Settings> & {
  /** `module:export`, as on the command line. */
  app: string;
};

/**
 * Serves an app in this process, as `tsws` does, with the same settings (config file and TSWS_*
 * environment included; these options rank with the command line). Resolves with the exit code
 * once stopped by SIGTERM/SIGINT or by the parent (a node:cluster primary) going away; a failed
 * boot is logged and resolves with its code (EXIT.APP_LOAD_ERROR, EXIT.BOOT_ERROR).
 *
 *     if (cluster.isPrimary) for (let i = 0; i < 4; i++) cluster.fork();
 *     else process.exitCode = await runApp({ app: 'app.js:app', bind: ['127.0.0.1:8000'] });
 */
export async function runApp(options: AppOptions): Promise<number> {
  const { settings, sources } = await resolveSettings('tsws', { argv: [], overrides: options });
  return runStandalone(settings, { bindGiven: sources.bind !== 'default' });
}
