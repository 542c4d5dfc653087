// The pre-fork master, `tsws-master -w 1` and `-w 2`, serving the fetch app (all its processes
// pinned to the server core: with one core, -w 1 shows what the master adds over the CLI and
// over a plain node:cluster program, -w 2 what switching between workers costs). A reload is
// SIGHUP; it is done when the master logs "reload done".
import { cliServer, FETCH_APP } from '../cli.mjs';
import { waitForLog } from '../proc.mjs';
import { SUPERVISED_GROUP, scenariosFor } from '../supervised.mjs';

const master = (workers) =>
  cliServer({
    name: `tsws-master -w ${workers}`,
    about: `\`tsws-master -w ${workers} bench/app.mjs:default\` (scheduling \`shared\`, its default)`,
    group: SUPERVISED_GROUP,
    // The access-log scenario runs on -w 1 (the same worker's log as the CLI's, through the master).
    scenarios: workers === 1 ? [...scenariosFor(1), 'access-log'] : scenariosFor(workers),
    workers,
    // Its workers leave `listening on` to the master, which says `worker ready` for each.
    readyLine: /"msg":"worker ready"/,
    memory: workers === 1 ? { idle: true } : undefined,
    package: 'master',
    bin: 'tsws-master.js',
    built: 'dist/cli.js',
    app: FETCH_APP,
    args: ['--workers', String(workers)],
    flags: ['--workers'],
    async reload(proc) {
      const done = waitForLog(proc, /"msg":"reload (done|abandoned)/);
      process.kill(proc.pid, 'SIGHUP');
      const ms = await done;
      if (/"msg":"reload abandoned/.test(proc.stderr())) throw new Error('the master abandoned the reload');
      return ms;
    },
  });

export default [master(1), master(2)];
