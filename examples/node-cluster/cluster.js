// Your own node:cluster program, starting tsws workers through the programmatic API. Each
// worker runs runApp(), which serves like the `tsws` command (same settings, same drain on
// SIGTERM/SIGINT) and, inside a cluster, also leaves cleanly when the primary goes away.
//
//   node cluster.js            (APP, APP_DIR, BIND and WORKERS in the environment override)
import cluster from 'node:cluster';
import os from 'node:os';
import { runApp } from '@tsws/worker';

if (cluster.isPrimary) {
  const count = Number(process.env.WORKERS ?? os.availableParallelism());
  let stopping = false;
  for (let i = 0; i < count; i++) cluster.fork();
  // Each worker says when it is listening.
  cluster.on('message', (worker, message) => {
    if (message?.tsws === 'ready')
      console.log(`worker ${worker.process.pid} listening on ${message.listening.join(', ')}`);
  });
  // Replace a worker that died; not one that stopped because we asked it to.
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.log(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
      cluster.fork();
    }
  });
  // Stop: every worker drains its in-flight requests and exits; then so does this process.
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  process.exitCode = await runApp({
    app: process.env.APP ?? 'app.js:app',
    chdir: process.env.APP_DIR ?? import.meta.dirname,
    bind: [process.env.BIND ?? '127.0.0.1:8000'],
  });
}
