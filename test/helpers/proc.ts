// Running the real command-line programs (`tsws`, `tsws-master`) for a test, under the Node
// that runs the test (so the Node 24 pass runs them on Node 24 too), killed when the test ends.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { sleep } from './wait.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BINS = {
  tsws: `${ROOT}packages/tsws/bin/tsws.js`,
  'tsws-master': `${ROOT}packages/tsws/bin/tsws-master.js`,
  'tsws-ctl': `${ROOT}packages/tsws/bin/tsws-ctl.js`,
} as const;

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** Everything written so far. */
  out(): string;
  err(): string;
  /** Resolves with the first stdout/stderr match of `pattern`, rejects after `timeoutMs` or on exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * `fds`: file descriptors of this process the child gets as its fds 3, 4, ... (listening sockets).
 * `prefix`: a command that runs node (`['unshare', '--pid', '--fork']`, `['taskset', '-c', '0']`).
 */
export function run(
  bin: keyof typeof BINS | string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; fds?: number[]; prefix?: string[] } = {},
): Proc {
  const script = bin in BINS ? BINS[bin as keyof typeof BINS] : bin;
  const argv = [...(opts.prefix ?? []), process.execPath, script, ...args];
  // detached: its own process group, so cleanup reaches cluster workers too.
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe', ...(opts.fds ?? [])],
    detached: true,
  });
  return watch(child);
}

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * `run()` on a pseudo-terminal `columns` wide (util-linux script(1)), for what a program does on
 * a terminal. Its stdout and stderr both arrive as out(), CRLFs and all.
 */
export function runOnTerminal(
  bin: keyof typeof BINS | string,
  args: string[],
  opts: { columns?: number; env?: NodeJS.ProcessEnv } = {},
): Proc {
  const script = bin in BINS ? BINS[bin as keyof typeof BINS] : bin;
  const program = [process.execPath, script, ...args].map(quote).join(' ');
  const command = `stty cols ${opts.columns ?? 100} rows 50; exec ${program}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return watch(child);
}

/** Collects a child's output, and kills its process group when the test ends. */
function watch(child: ChildProcess): Proc {
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d;
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d;
    for (const l of listeners) l();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const l of listeners) l();
    });
  });
  let done = false;
  void exited.then(() => (done = true));
  onTestFinished(async () => {
    if (!done) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    }
  });
  return {
    child,
    pid: child.pid!,
    out: () => out,
    err: () => err,
    exited,
    kill: (signal = 'SIGTERM') => child.kill(signal),
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = (out + err).match(pattern);
          if (m) {
            cleanup();
            resolve(m);
          } else if (done) {
            cleanup();
            reject(new Error(`exited before ${pattern}:\nstdout: ${out}\nstderr: ${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}:\nstdout: ${out}\nstderr: ${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Runs a program to its exit; resolves with its exit code and what it wrote. */
export async function runToExit(
  bin: keyof typeof BINS | string,
  args: string[],
  opts: Parameters<typeof run>[2] = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const proc = run(bin, args, opts);
  const { code } = await proc.exited;
  return { code, out: proc.out(), err: proc.err() };
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls until `url` answers (any status), or throws after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}
