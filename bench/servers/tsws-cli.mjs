// The single-process `tsws` CLI (@tsws/worker) serving bench/app.mjs with the core.
import { APP, cliServer } from '../cli.mjs';

export default cliServer({
  name: 'tsws CLI',
  about: '`tsws bench/app.mjs:default`, one process',
  package: 'worker',
  bin: 'tsws.js',
  built: 'dist/cli.js',
  flags: ['--bind', '--keep-alive'],
  accessLogFlag: '--access-logfile',
  args: ({ port, keepAliveTimeout }) => [APP, '--bind', `127.0.0.1:${port}`, ...(keepAliveTimeout ? ['--keep-alive', String(keepAliveTimeout / 1000)] : [])],
});
