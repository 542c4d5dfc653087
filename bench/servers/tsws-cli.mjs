// The single-process `tsws` CLI (@tsws/worker) serving the fetch app with the core.
import { cliServer, FETCH_APP } from '../cli.mjs';

export default cliServer({
  name: 'tsws CLI',
  about: '`tsws bench/app.mjs:default`, one process (worker class `tsws`)',
  quick: true,
  memory: { idle: true, perConnection: true },
  package: 'worker',
  bin: 'tsws.js',
  built: 'dist/cli.js',
  app: FETCH_APP,
});
