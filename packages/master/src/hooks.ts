// Gunicorn's server hooks, from the config file (or createMaster options). A hook that throws or
// rejects is logged and the master carries on: a hook must not take the server down.
import type { Hook, Logger, Settings } from '@tsws/worker/internal';

export type HookName = 'onStarting' | 'whenReady' | 'onReload' | 'postFork' | 'workerExit' | 'onExit';

export async function callHook(log: Logger, settings: Settings, name: HookName, ...args: unknown[]): Promise<void> {
  const hook = settings[name] as Hook | undefined;
  if (!hook) return;
  try {
    await (hook as (...a: unknown[]) => unknown)(...args);
  } catch (err) {
    log.error({ err, hook: name }, `the ${name} hook failed`);
  }
}
