// The `tsws` CLI with the `node` worker class: the same app served through node:http.
import { APP, cliServer } from '../cli.mjs';

export default cliServer({
  name: 'tsws CLI -k node',
  about: '`tsws -k node bench/app.mjs:default`: the node:http worker class',
  package: 'worker',
  bin: 'tsws.js',
  built: 'dist/cli.js',
  flags: ['--bind', '--keep-alive', '--worker-class'],
  accessLogFlag: '--access-logfile',
  args: ({ port, keepAliveTimeout }) => [APP, '--worker-class', 'node', '--bind', `127.0.0.1:${port}`, ...(keepAliveTimeout ? ['--keep-alive', String(keepAliveTimeout / 1000)] : [])],
});
