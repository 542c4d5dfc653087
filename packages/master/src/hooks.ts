// User code the master runs: Gunicorn's server hooks from the config file (or createMaster
// options), and the config file itself, read again on each reload. The master waits for none of
// it beyond --hook-timeout, and never on its loop: a hook that hangs must not stop it handling
// signals, replacing dead workers or enforcing --timeout. A hook that throws or rejects, or is
// still running at the deadline, is logged and the master carries on.
import type { Hook, HookName, Logger, Settings } from '@tsws/worker/internal';

export type Settled<T> = { kind: 'done'; value: T } | { kind: 'failed'; error: unknown } | { kind: 'timed-out' };

/**
 * Runs `work` and waits for it for up to `seconds` (0: for as long as it takes). Never throws:
 * says how it went. What is still running at the deadline runs on; nobody waits for it.
 */
export async function within<T>(seconds: number, work: () => T | PromiseLike<T>): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  // Ref'd: a master with nothing else left to do (its last hook, onExit) still waits out the bound.
  const deadline = new Promise<Settled<T>>((resolve) => {
    if (seconds > 0) timer = setTimeout(() => resolve({ kind: 'timed-out' }), seconds * 1000);
  });
  const run = (async (): Promise<Settled<T>> => ({ kind: 'done', value: await work() }))().catch(
    (error: unknown): Settled<T> => ({ kind: 'failed', error }),
  );
  try {
    return await Promise.race([run, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export async function callHook(log: Logger, settings: Settings, name: HookName, ...args: unknown[]): Promise<void> {
  const hook = settings[name] as Hook | undefined;
  if (!hook) return;
  const outcome = await within(settings.hookTimeout, () => (hook as (...a: unknown[]) => unknown)(...args));
  if (outcome.kind === 'failed') log.error({ err: outcome.error, hook: name }, `the ${name} hook failed`);
  else if (outcome.kind === 'timed-out')
    log.error(
      { hook: name, hookTimeout: settings.hookTimeout },
      `the ${name} hook did not return within --hook-timeout ${settings.hookTimeout} s; carrying on without it`,
    );
}
