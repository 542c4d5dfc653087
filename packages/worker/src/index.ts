import { fileURLToPath } from 'node:url';
export { buildProgram, defaultText, printable, type Resolved, type ResolveOptions, resolveSettings, SettingError, settingsMarkdown, type Source, splitArgs } from './config.js';
export {
  decodeBoot,
  encodeBoot,
  EXIT,
  isMasterMessage,
  isWorkerMessage,
  type MasterMessage,
  WORKER_ENV,
  type WorkerBoot,
  type WorkerMessage,
  type WorkerSettings,
  type WorkerStatus,
} from './protocol.js';
export { type Command, defaults, envName, flagName, type Hook, type Section, type Setting, type SettingName, SETTINGS, type Settings } from './settings.js';
export { type AccessLog, createAccessLog, createLogger, type Logger, type Logging } from './logging.js';
export { type PassedSocket, passedSockets, takePassedSockets } from './systemd.js';
export { AppLoadError, type AppSpec, describeValue, loadApp, loadExport, parseAppSpec } from './load.js';
export { detectApp, type Interface, type LoadedApp, type NodeListener } from './app-kind.js';
export { coreOptions } from './serve-options.js';
export { RequestCounter, type RunOptions, Worker, type WorkerOptions, type WorkerStats } from './base.js';
export { BUILT_IN, resolveWorkerClass, type WorkerClass, WorkerClassError } from './classes.js';
export { NodeWorker } from './workers/node.js';
export { TswsWorker } from './workers/tsws.js';
export { fetchListener } from './fetch-adapter.js';
export { listenOn, type ListenSettings } from './listen.js';
export { BootError, loadSettingsApp, logBootError, prepareWorker, runWorker } from './runtime.js';
export { type AppOptions, runApp, runStandalone, type StandaloneOptions } from './standalone.js';

/** The script the master forks for each worker. */
export const workerEntry: string = fileURLToPath(new URL('./child.js', import.meta.url));
