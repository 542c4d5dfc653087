// tsws: everything a project needs from one package. The commands (`tsws`, `tsws-master`, in
// bin/), the master's API (createMaster) and the worker API (a worker class of your own, runApp).
// The core alone is `tsws/core`.
export {
  createMaster,
  EXIT,
  HaltError,
  Master,
  type MasterEvents,
  type MasterOptions,
  type MasterSignal,
  type MasterState,
  type ReplaceReason,
  SettingError,
  type Settings,
  SIGNALS,
  type WorkerExit,
  type WorkerInfo,
  type WorkerState,
  type WorkerStatus,
} from '@tsws/master';
export {
  type AppOptions,
  type Interface,
  type LoadedApp,
  listenBind,
  type NodeListener,
  NodeWorker,
  runApp,
  TswsWorker,
  Worker,
  type WorkerOptions,
  type WorkerSettings,
  type WorkerStats,
} from '@tsws/worker';
