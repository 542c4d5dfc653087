// The pre-fork master, `tsws-master -w 1` and `-w 2` (all pinned to the server core: with one
// core, -w 1 shows what the master adds over the CLI, -w 2 what worker switching costs).
// SIGHUP reloads the workers, for the reload-under-load scenario.
import { APP, cliServer } from '../cli.mjs';

const master = (workers) =>
  cliServer({
    name: `tsws-master -w ${workers}`,
    about: `\`tsws-master -w ${workers} bench/app.mjs:default\``,
    package: 'master',
    bin: 'tsws-master.js',
    built: 'dist/cli.js',
    flags: ['--bind', '--workers', '--keep-alive'],
    accessLogFlag: '--access-logfile',
    args: ({ port, keepAliveTimeout }) => [APP, '--workers', String(workers), '--bind', `127.0.0.1:${port}`, ...(keepAliveTimeout ? ['--keep-alive', String(keepAliveTimeout / 1000)] : [])],
    reload: (proc) => process.kill(proc.pid, 'SIGHUP'),
  });

export default [master(1), master(2)];
