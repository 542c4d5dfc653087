// @tsws/worker: what a user of tsws may build on. Write a worker class of your own (Worker and
// listenBind, or extend a built-in class), serve an app from a program of your own (runApp), and
// read the exit codes (EXIT). Everything else is @tsws/worker/internal, for tsws's own packages.
export type { Interface, LoadedApp, NodeListener } from './app-kind.js';
export { Worker, type WorkerOptions, type WorkerStats } from './base.js';
export { SettingError } from './config.js';
export { listenBind } from './listen.js';
export { EXIT, type WorkerSettings } from './protocol.js';
export type { Settings } from './settings.js';
export { type AppOptions, runApp } from './standalone.js';
export { NodeWorker } from './workers/node.js';
export { TswsWorker } from './workers/tsws.js';
