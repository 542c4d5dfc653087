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
export { AppLoadError, loadApp, parseAppSpec } from './load.js';
export { coreOptions } from './serve-options.js';

/** The script the master forks for each worker. */
export const workerEntry: string = fileURLToPath(new URL('./child.js', import.meta.url));
