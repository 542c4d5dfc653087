// The pre-fork master, `tsws-master -w 1` and `-w 2`, serving the fetch app (all its processes
// pinned to the server core: with one core, -w 1 shows what the master adds over the CLI and
// over a plain node:cluster program, -w 2 what switching between workers costs). A reload is
// SIGHUP; it is done when the master logs "reload done". With `--scheduling reuseport` each
// worker listens on a socket of its own (SO_REUSEPORT, Node >= 22.12) and the kernel spreads
// connections between them, instead of every worker accepting from one shared socket.
import { cliServer, FETCH_APP } from '../cli.mjs';
import { waitForLog } from '../proc.mjs';
import { SUPERVISED_GROUP, scenariosFor } from '../supervised.mjs';

const [major, minor] = process.versions.node.split('.').map(Number);
const hasReusePort = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);

const master = (workers, reusePort = false) => {
  const server = cliServer({
    name: `tsws-master -w ${workers}${reusePort ? ' reuseport' : ''}`,
    about: `\`tsws-master -w ${workers} bench/app.mjs:default\` (scheduling \`${reusePort ? 'reuseport' : 'shared'}\`${reusePort ? '' : ', its default'})`,
    group: SUPERVISED_GROUP,
    // The access-log scenario runs on -w 1 (the same worker's log as the CLI's, through the master).
    scenarios: reusePort ? scenariosFor(1) : workers === 1 ? [...scenariosFor(1), 'access-log'] : scenariosFor(workers),
    workers,
    // Its workers leave `listening on` to the master, which says `worker ready` for each.
    readyLine: /"msg":"worker ready"/,
    memory: workers === 1 && !reusePort ? { idle: true } : undefined,
    package: 'master',
    bin: 'tsws-master.js',
    built: 'dist/cli.js',
    app: FETCH_APP,
    args: ['--workers', String(workers), ...(reusePort ? ['--scheduling', 'reuseport'] : [])],
    flags: ['--workers', ...(reusePort ? ['--scheduling'] : [])],
    async reload(proc) {
      const done = waitForLog(proc, /"msg":"reload (done|abandoned)/);
      process.kill(proc.pid, 'SIGHUP');
      const ms = await done;
      if (/"msg":"reload abandoned/.test(proc.stderr())) throw new Error('the master abandoned the reload');
      return ms;
    },
  });
  if (!reusePort) return server;
  const unavailable = server.unavailable;
  return {
    ...server,
    unavailable: () =>
      hasReusePort ? unavailable() : `SO_REUSEPORT needs Node >= 22.12 (this is ${process.versions.node}): --node`,
  };
};

export default [master(1), master(2), master(1, true), master(2, true)];
