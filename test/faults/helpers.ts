// Faults injected into real tsws-master processes under load, and the accounting that shows
// what they cost: the load generator and the /proc readings are test/helpers/loadgen.mjs and
// procfs.mjs (the soak, bench/soak/run.mjs, uses them too); the app is test/fixtures/faults/app.mjs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeFate, type Fate, type LoadResult } from '../helpers/loadgen.mjs';
import { type RunningMaster, startMaster, tempDir, until } from '../master/helpers.js';

/** The directory of the app the fault tests and the soak run (test/fixtures/faults/app.mjs). */
export const SOAK = fileURLToPath(new URL('../fixtures/faults/', import.meta.url));

/** `tsws-master app.mjs` (test/fixtures/faults/app.mjs) on a free loopback port; FAULT_DIR is a fresh directory. */
export async function startFaultMaster(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; wait?: boolean } = {},
): Promise<RunningMaster & { dir: string }> {
  const dir = tempDir();
  const m = await startMaster('app.mjs', args, {
    cwd: SOAK,
    env: { FAULT_DIR: dir, ...opts.env },
    ...(opts.wait === false ? { wait: false } : {}),
  });
  return Object.assign(m, { dir });
}

/** Resolves with the JSON in `dir/name` once it exists. */
export async function fileOf<T>(dir: string, name: string, timeoutMs = 15_000): Promise<T> {
  const path = join(dir, name);
  await until(`${path} to exist`, () => existsSync(path), timeoutMs);
  return until(`${path} to be complete`, () => {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as T;
    } catch {
      return null;
    }
  });
}

/** A worker that answers the master's 'worker ready' after `since` log lines and is not one of `old`. */
export function newWorkerReady(m: RunningMaster, old: number[]): Promise<number> {
  return m
    .waitForLog((l) => l.msg === 'worker ready' && !old.includes(l.workerPid as number))
    .then((l) => l.workerPid as number);
}

export interface Accounting {
  /** Failed requests on connections the faulty worker held: what the fault may cost. */
  confined: Fate[];
  /** Failed requests anywhere else: lost to the fault's neighbours (must be none). */
  elsewhere: Fate[];
  /** One line per failure elsewhere, for the assertion message. */
  report: string;
}

/**
 * Splits the failures by whether their connection (client port) was one the faulty worker held
 * when the fault struck. A connection lives on one worker for its life, so a failure on any
 * other connection is a request lost by a worker that did nothing wrong, or by the master.
 */
export function account(result: LoadResult, held: Set<number>): Accounting {
  const confined = result.failures.filter((f) => f.conn !== 0 && held.has(f.localPort));
  const elsewhere = result.failures.filter((f) => !confined.includes(f));
  const report = [
    `${result.sent} requests, ${result.ok} answered, ${result.failed} failed (${JSON.stringify(result.counts)}); ` +
      `the faulty worker held ${held.size} connections`,
    ...elsewhere.map(describeFate),
  ].join('\n');
  return { confined, elsewhere, report };
}

/** With TSWS_FAULTS_VERBOSE=1, prints a test's figures (for docs/reliability.md). */
export function figures(test: string, result: LoadResult, extra: Record<string, unknown> = {}): void {
  if (!process.env.TSWS_FAULTS_VERBOSE) return;
  const line = {
    test,
    requests: result.sent,
    answered: result.ok,
    failed: result.failed,
    retried: result.retried,
    refused: result.counts.refused,
    ...extra,
  };
  console.log(`tsws-faults ${JSON.stringify(line)}`);
}

/** Answered requests that a worker in `pids` answered between `from` and `to` (load clock, ms). */
export function servedBy(fates: Fate[], pids: number[], from = 0, to = Infinity): number {
  return fates.filter(
    (f) => f.outcome === 'ok' && f.pid !== null && pids.includes(f.pid) && f.ended >= from && f.ended <= to,
  ).length;
}
