// PM2 in cluster mode: PM2's daemon is the node:cluster primary and holds the listening socket;
// each instance is one tsws process. tsws tells PM2 when it is ready (wait_ready), and on SIGINT
// (pm2 stop, pm2 reload) stops accepting and finishes its in-flight requests, so `pm2 reload`
// drops none. It cuts what is left a little before kill_timeout, when PM2 would SIGKILL it.
//
//   pm2 start ecosystem.config.cjs && pm2 reload tsws-app
const path = require('node:path');

module.exports = {
  apps: [
    {
      name: 'tsws-app',
      // tsws's bin, wherever the tsws package is installed.
      script: path.join(path.dirname(require.resolve('tsws')), '../bin/tsws.js'),
      args: [process.env.APP ?? 'app.js:app', '--bind', process.env.BIND ?? '127.0.0.1:8000'],
      cwd: process.env.APP_DIR ?? __dirname,
      exec_mode: 'cluster',
      instances: 2,
      wait_ready: true,
      listen_timeout: 10_000,
      kill_timeout: 10_000,
    },
  ],
};
