// `-k/--worker-class`: the built-in classes by name, `auto` by the app's interface, or a custom
// class loaded as `path.js:Export` (relative to --chdir) that extends Worker.
import type { LoadedApp } from './app-kind.js';
import { Worker, type WorkerOptions } from './base.js';
import { loadExport } from './load.js';
import type { Logger } from './logging.js';
import type { WorkerSettings } from './protocol.js';
import { TswsWorker } from './workers/tsws.js';

export type WorkerClass = (new (
  app: LoadedApp,
  settings: WorkerSettings,
  log: Logger,
  options?: WorkerOptions,
) => Worker) & {
  workerName?: string;
  serves?: readonly LoadedApp['interface'][];
  /** Why this class cannot serve `app` with `settings` (a setting it lacks, say), in one line; or undefined. */
  unsupported?(settings: WorkerSettings, app: LoadedApp): string | undefined;
};

/** The built-in classes, the node class loaded only when chosen (it brings node:http, http2 and https). */
const BUILT_IN: Record<string, () => Promise<WorkerClass>> = {
  tsws: async () => TswsWorker,
  node: async () => (await import('./workers/node.js')).NodeWorker,
};

/** A bad --worker-class: unknown, not loadable, not a worker, or unfit for the app. */
export class WorkerClassError extends Error {
  override readonly name = 'WorkerClassError';
  readonly code = 'ERR_TSWS_WORKER_CLASS';
}

/** A constructor whose prototype has start() and stop(): a Worker (even from another copy of this package). */
function isWorkerClass(value: unknown): value is WorkerClass {
  if (typeof value !== 'function') return false;
  const proto = (value as { prototype?: Record<string, unknown> }).prototype;
  return (
    value.prototype instanceof Worker ||
    (typeof proto?.start === 'function' && typeof proto?.stop === 'function' && typeof proto?.run === 'function')
  );
}

/** The class `name` asks for; `auto` picks tsws for fetch apps and node for Node listeners. */
export async function resolveWorkerClass(name: string, app: LoadedApp, chdir: string): Promise<WorkerClass> {
  if (name === 'auto') return BUILT_IN[app.interface === 'fetch' ? 'tsws' : 'node']!();
  let cls: WorkerClass;
  if (Object.hasOwn(BUILT_IN, name)) cls = await BUILT_IN[name]!();
  else if (/[./:]/.test(name)) {
    // Errors loading it (with the module's own exception as the cause) go up as they are.
    const value = await loadExport(name, chdir, 'worker class');
    if (!isWorkerClass(value)) {
      const got = typeof value === 'function' ? `the function ${value.name || '(anonymous)'}` : typeof value;
      throw new WorkerClassError(
        `worker class "${name}": expected a class extending Worker from @tsws/worker ` +
          `(with start() and stop()), got ${got}`,
      );
    }
    cls = value;
  } else {
    throw new WorkerClassError(
      `worker class "${name}": expected auto, tsws, node, or a custom class as path.js:Export`,
    );
  }
  const serves = cls.serves ?? ['fetch', 'node'];
  if (!serves.includes(app.interface)) {
    const other = app.interface === 'node' ? 'node' : 'tsws';
    throw new WorkerClassError(
      `worker class "${name}" serves ${serves.join(' and ')} apps, and the app is ${app.kind}: ` +
        `use -k ${other} or -k auto`,
    );
  }
  return cls;
}
