// @tsws/worker/internal: what tsws's own packages (the master, the scripts, the tests) share.
// No promise of stability to anyone else. It loads neither the core nor node:http nor the app
// loader, so a master that imports only this stays small: a master parses no HTTP. Any other
// module is `@tsws/worker/internal/<file>` (the tests reach the app loader that way).
import { fileURLToPath } from 'node:url';

export { type CommandSpec, runCommand } from './command.js';
export { buildProgram, printable, type Resolved, resolveSettings, SettingError, settingsMarkdown } from './config.js';
export { availableCpus, memoryLimit } from './container.js';
export { BootError, errorRecord, reportFailure } from './failure.js';
export { type AccessLog, createAccessLog, createLogger, type Logger, type Logging } from './logging.js';
export {
  DURATION_BUCKETS,
  RequestTotals,
  type SeriesDelta,
  type SeriesTotals,
  SIZE_BUCKETS,
  STATUS_CLASSES,
} from './metrics.js';
export { removePidFile, writePidFile } from './pidfile.js';
export { type Preflight, preflight } from './preflight.js';
export {
  EXIT,
  encodeBoot,
  type Handed,
  handedKey,
  isWorkerMessage,
  WORKER_ENV,
  type WorkerMessage,
  type WorkerSettings,
  type WorkerStatus,
} from './protocol.js';
export {
  controlSocketDir,
  defaultControlSocket,
  defaults,
  envName,
  type Hook,
  type HookName,
  SETTINGS,
  type Setting,
  type SettingName,
  type Settings,
} from './settings.js';
export { takePassedSockets } from './systemd.js';
export { type Entry, EXIT_CODES, entriesMarkdown, MASTER_USAGE, TSWS_USAGE, type Usage } from './usage.js';
export { WATCHDOG_FD, type WatchdogReport } from './watchdog.js';

/** The script the master forks for each worker. */
export const workerEntry: string = fileURLToPath(new URL('./child.js', import.meta.url));
