import { fileURLToPath } from 'node:url';

export { detectApp, type Interface, type LoadedApp, type NodeListener } from './app-kind.js';
export { RequestCounter, type RunOptions, Worker, type WorkerOptions, type WorkerStats } from './base.js';
export { BUILT_IN, resolveWorkerClass, type WorkerClass, WorkerClassError } from './classes.js';
export {
  buildProgram,
  defaultText,
  printable,
  type Resolved,
  type ResolveOptions,
  resolveSettings,
  SettingError,
  type Source,
  settingsMarkdown,
  splitArgs,
} from './config.js';
export { availableCpus, cpuQuota, memoryLimit } from './container.js';
export { fetchListener } from './fetch-adapter.js';
export { type ListenSettings, listenOn } from './listen.js';
export { AppLoadError, type AppSpec, describeValue, loadApp, loadExport, parseAppSpec } from './load.js';
export { type AccessLog, createAccessLog, createLogger, type Logger, type Logging } from './logging.js';
export {
  DURATION_BUCKETS,
  METHODS,
  RequestMetrics,
  RequestTotals,
  type SeriesDelta,
  type SeriesTotals,
  SIZE_BUCKETS,
  STATUS_CLASSES,
} from './metrics.js';
export {
  decodeBoot,
  EXIT,
  encodeBoot,
  isMasterMessage,
  isWorkerMessage,
  type MasterMessage,
  WORKER_ENV,
  type WorkerBoot,
  type WorkerMessage,
  type WorkerSettings,
  type WorkerStatus,
} from './protocol.js';
export { BootError, loadSettingsApp, logBootError, prepareWorker, runWorker } from './runtime.js';
export { coreOptions } from './serve-options.js';
export {
  type Command,
  controlSocketDir,
  defaultControlSocket,
  defaults,
  envName,
  flagName,
  type Hook,
  type HookName,
  SETTINGS,
  type Section,
  type Setting,
  type SettingName,
  type Settings,
} from './settings.js';
export { type AppOptions, runApp, runStandalone, type StandaloneOptions } from './standalone.js';
export { type PassedSocket, passedSockets, takePassedSockets } from './systemd.js';
export { NodeWorker } from './workers/node.js';
export { TswsWorker } from './workers/tsws.js';

/** The script the master forks for each worker. */
export const workerEntry: string = fileURLToPath(new URL('./child.js', import.meta.url));
