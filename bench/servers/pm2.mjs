// PM2 cluster mode running the same tsws workers (the `tsws` CLI as PM2's script, as
// examples/pm2/ecosystem.config.cjs does): `instances: 1` and `2`. PM2's daemon (God) runs in
// the foreground, in this file's process (what `pm2-runtime` and `pm2 --no-daemon` do), so the
// daemon and its instances are one process group: pinned, timed and stopped together. Not
// pm2-runtime itself: PM2 forks its cluster instances with the primary's own arguments, so
// pm2-runtime's config-file argument reaches every instance's argv (tsws then refuses two apps).
// Its home (PM2_HOME: sockets, pid and log files) is a temp dir per start, removed after; any
// process still carrying that PM2_HOME when the server stops is killed. A reload is the real
// `pm2 reload` command, talking to this daemon over its socket.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliBin, commonArgs, FETCH_APP, ROOT } from '../cli.mjs';
import { SUPERVISED_GROUP, scenariosFor } from '../supervised.mjs';

const PROGRAM = fileURLToPath(import.meta.url);
const require = createRequire(import.meta.url);
const PM2_DIR = dirname(require.resolve('pm2/package.json'));
const PM2_CLI = join(PM2_DIR, 'bin', 'pm2');
const PM2_VERSION = require('pm2/package.json').version;
const NAME = 'tsws-bench';
const tsws = cliBin('worker', 'tsws.js', 'dist/cli.js', ['--chdir', '--bind', '--keep-alive']);

const pm2 = (instances) => ({
  name: `PM2 cluster -i ${instances}`,
  about: `PM2 ${PM2_VERSION} cluster mode, instances: ${instances}, each \`tsws bench/app.mjs:default\` (wait_ready; PM2's default round-robin scheduling)`,
  group: SUPERVISED_GROUP,
  scenarios: scenariosFor(instances),
  workers: instances,
  unavailable: tsws.unavailable,
  command({ port, keepAliveTimeout }) {
    const home = mkdtempSync(join(tmpdir(), 'tsws-bench-pm2-'));
    const config = join(home, 'ecosystem.config.cjs');
    const app = {
      name: NAME,
      script: tsws.path,
      args: commonArgs({ app: FETCH_APP, port, keepAliveTimeout }),
      cwd: ROOT,
      exec_mode: 'cluster',
      instances,
      wait_ready: true,
      listen_timeout: 10_000,
      kill_timeout: 10_000,
    };
    writeFileSync(config, `module.exports = ${JSON.stringify({ apps: [app] }, null, 2)};\n`);
    return { argv: [process.execPath, PROGRAM, config], env: { PM2_HOME: home }, cleanup: () => cleanup(home) };
  },
  /** `pm2 reload`, unpinned (an operator's command); done when it exits. */
  reload(proc) {
    const home = proc.env.PM2_HOME;
    const start = performance.now();
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        [PM2_CLI, 'reload', NAME],
        { env: { ...process.env, PM2_HOME: home }, timeout: 60_000 },
        (err, stdout, stderr) => {
          if (err)
            reject(
              new Error(
                `pm2 reload failed: ${String(stderr || stdout || err.message)
                  .trim()
                  .split('\n')
                  .at(-1)}`,
              ),
            );
          else resolve(performance.now() - start);
        },
      );
    });
  },
});

export default [pm2(1), pm2(2)];

/** The PM2_HOME a process was started with. */
function homeOf(pid) {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    return env.find((e) => e.startsWith('PM2_HOME='))?.slice('PM2_HOME='.length) ?? null;
  } catch {
    return null; // gone, or not ours to read
  }
}

/** Kills whatever still runs with this PM2_HOME (a daemon a stray `pm2` command started), then removes it. */
function cleanup(home) {
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57 || Number(name) === process.pid) continue;
    if (homeOf(name) !== home) continue;
    try {
      process.kill(Number(name), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(home, { recursive: true, force: true });
}

/** The foreground daemon: start the ecosystem file, stop everything on SIGTERM/SIGINT. */
async function main(config) {
  // PM2's cluster instances inherit the primary's arguments (cluster.setupPrimary's default): none.
  process.argv.length = 2;
  process.env.PM2_DISCRETE_MODE = 'true';
  const { default: PM2 } = await import('pm2');
  const api = new PM2.custom({ pm2_home: process.env.PM2_HOME, daemon_mode: false });
  const exit = () => api.kill(() => process.exit(0));
  process.on('SIGTERM', exit);
  process.on('SIGINT', exit);
  api.connect((err) => {
    if (err) throw err;
    api.start(config, (startErr) => {
      if (startErr) {
        process.stderr.write(`pm2 start failed: ${startErr.message ?? startErr}\n`);
        exit();
      }
    });
  });
}

if (process.argv[1] === PROGRAM) await main(process.argv[2]);
