// Servers that are our own command-line programs (`tsws`, `tsws-master`) serving bench/app.mjs
// (the fetch app) or bench/node-app.mjs (the Node listener). Their flags are checked against the
// program's --help, so a server whose program is missing, or whose flags have changed, is
// reported as not available (with why), never run wrongly.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const FETCH_APP = 'bench/app.mjs:default';
export const NODE_APP = 'bench/node-app.mjs:default';
const ACCESS_LOG_FLAG = '--access-log';
const helpCache = new Map();

function help(bin) {
  if (!helpCache.has(bin)) {
    let text = '';
    try {
      text = execFileSync(process.execPath, [bin, '--help'], {
        encoding: 'utf8',
        cwd: ROOT,
        timeout: 10_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      text = `${err.stdout ?? ''}${err.stderr ?? ''}`;
    }
    helpCache.set(bin, text);
  }
  return helpCache.get(bin);
}

/** The path of one of our bins (all in packages/tsws), and why it cannot run here (or null); `pkg` built it. */
export function cliBin(pkg, bin, built, flags) {
  const path = `${ROOT}packages/tsws/bin/${bin}`;
  const builtPath = `${ROOT}packages/${pkg}/${built}`;
  const unavailable = () => {
    if (!existsSync(builtPath)) return `not built yet (packages/${pkg}/${built} is missing): run \`pnpm build\``;
    const text = help(path);
    const missing = flags.filter((f) => !text.includes(f));
    return missing.length ? `${bin} --help lists no ${missing.join(', ')}: update bench/servers for its flags` : null;
  };
  return { path, unavailable };
}

/** The settings every CLI server gets: the app, where to listen, keep-alive (ms here, seconds there). */
export function commonArgs({ app, port, keepAliveTimeout }) {
  const args = [app, '--chdir', ROOT, '--bind', `127.0.0.1:${port}`];
  // --keep-alive 0 turns keep-alive off: never round a timeout down to it.
  if (keepAliveTimeout) args.push('--keep-alive', String(Math.max(1, Math.round(keepAliveTimeout / 1000))));
  return args;
}
export const COMMON_FLAGS = ['--chdir', '--bind', '--keep-alive', ACCESS_LOG_FLAG];

/**
 * A server run through one of our CLIs. `built`: the file that exists once the CLI is built;
 * `app`: which app it serves; `args`: its own flags, beyond the common ones; `flags`: those
 * flags, checked against --help.
 */
export function cliServer({ package: pkg, bin, built, app, args = [], flags = [], ...rest }) {
  const program = cliBin(pkg, bin, built, [...COMMON_FLAGS, ...flags]);
  return {
    subject: true,
    accessLog: true,
    ...rest,
    unavailable: program.unavailable,
    command: (opts) => [
      process.execPath,
      program.path,
      ...commonArgs({ ...opts, app }),
      ...args,
      ...(opts.accessLog ? [ACCESS_LOG_FLAG, opts.accessLog] : []),
    ],
  };
}
