// One process serving the app: the `tsws` command, and `runApp()` for programs of your own (a
// node:cluster primary's workers, say). Under a terminal, systemd (with socket activation) or
// PM2, the base class handles the signals; this file owns the process's edges: the sockets
// systemd passed, the pid file, logging, and reporting a failed boot.
import type { Worker } from './base.js';
import { resolveSettings } from './config.js';
import { exitCodeOf, reportFailure } from './failure.js';
import { type AccessLog, createAccessLog, createLogger } from './logging.js';
import { removePidFile, writePidFile } from './pidfile.js';
import { preflight } from './preflight.js';
import { EXIT } from './protocol.js';
import { prepareWorker, runPrepared } from './runtime.js';
import type { Settings } from './settings.js';
import { passedSockets, takePassedSockets } from './systemd.js';

export interface StandaloneOptions {
  /** --bind was given (rather than defaulted): sockets from systemd are added to it instead of replacing it. */
  bindGiven?: boolean;
  /** A user's mistake is one plain line on stderr when the log goes there (the CLI). */
  plainErrors?: boolean;
  /** Said in the log once it is open (TSWS_* variables that name no setting). */
  warnings?: string[];
}

/**
 * Serves `settings.app` in this process until SIGTERM or SIGINT (or the parent process going
 * away), drains, and resolves with the exit code (EXIT.*). A failed start is reported here.
 */
export async function runStandalone(settings: Settings, options: StandaloneOptions = {}): Promise<number> {
  // systemd socket activation: the passed sockets replace the default bind.
  const names = passedSockets().map((s) => s.name);
  const passed = takePassedSockets();
  if (passed.length) settings.bind = options.bindGiven ? [...settings.bind, ...passed] : passed;

  const logging = createLogger(settings);
  const { log } = logging;
  for (const warning of options.warnings ?? []) log.warn(warning);
  const accessLog: AccessLog | undefined = settings.accessLog
    ? createAccessLog(settings.accessLog, settings.logFormat)
    : undefined;
  let pidFile: string | undefined;
  const onFatal = (err: unknown) => {
    log.fatal({ err }, 'uncaught exception');
    finish(EXIT.ERROR);
    process.exit(EXIT.ERROR);
  };
  const finish = (code: number) => {
    if (pidFile) removePidFile(pidFile);
    process.off('uncaughtException', onFatal);
    logging.flush();
    accessLog?.flush();
    return code;
  };
  const plain = options.plainErrors && settings.errorLog === '-' ? { command: 'tsws' } : undefined;
  const fail = (err: unknown) => {
    reportFailure(err, log, plain);
    return finish(exitCodeOf(err));
  };
  process.on('uncaughtException', onFatal);

  let worker: Worker;
  try {
    preflight(settings, 'tsws');
    if (settings.pid) pidFile = writePidFile(settings.pid);
    if (passed.length) log.info({ sockets: passed, names }, `serving ${passed.length} socket(s) passed by systemd`);
    worker = await prepareWorker(settings, log, { accessLog });
  } catch (err) {
    return fail(err);
  }
  try {
    const code = await runPrepared(worker, { mode: 'standalone', logging, ...(accessLog ? { accessLog } : {}) });
    log.info({ code }, 'stopped');
    return finish(code);
  } catch (err) {
    return fail(err);
  }
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
  const { settings, sources, warnings } = await resolveSettings('tsws', { argv: [], overrides: options });
  return runStandalone(settings, { bindGiven: sources.bind !== 'default', warnings });
}
