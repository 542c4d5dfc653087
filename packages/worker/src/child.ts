// The entry point the master forks (node:cluster `exec`).
import { runWorker } from './runtime.js';

await runWorker();
