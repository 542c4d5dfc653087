// Servers that are our own command-line programs (`tsws`, `tsws-master`) serving bench/app.mjs.
// Their flags are checked against the program's --help, so a server whose program is missing,
// or whose flags have changed, is reported as not available (with why), never run wrongly.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const APP = 'bench/app.mjs:default';
const helpCache = new Map();

function help(bin) {
  if (!helpCache.has(bin)) {
    let text = '';
    try {
      text = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8', cwd: ROOT, timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      text = `${err.stdout ?? ''}${err.stderr ?? ''}`;
    }
    helpCache.set(bin, text);
  }
  return helpCache.get(bin);
}

/**
 * A server run through one of our CLIs. `built`: the file that exists once the CLI is built;
 * `args(opts)`: its arguments; `flags`: every flag `args` can use, checked against --help.
 */
export function cliServer({ package: pkg, bin, built, args, flags, accessLogFlag, ...rest }) {
  const binPath = `${ROOT}packages/${pkg}/bin/${bin}`;
  const builtPath = `${ROOT}packages/${pkg}/${built}`;
  const unavailable = () => {
    if (!existsSync(builtPath)) return `not built yet (packages/${pkg}/${built} is missing)`;
    const text = help(binPath);
    const missing = flags.filter((f) => !text.includes(f));
    return missing.length ? `${bin} --help lists no ${missing.join(', ')}: update bench/servers for its flags` : null;
  };
  return {
    subject: true,
    ...rest,
    unavailable,
    // The access log counts as supported only once the CLI documents its flag.
    get accessLog() {
      return unavailable() === null && help(binPath).includes(accessLogFlag);
    },
    command: (opts) => [process.execPath, binPath, ...args(opts), ...(opts.accessLog ? [accessLogFlag, opts.accessLog] : [])],
  };
}
