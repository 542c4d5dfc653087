// A plain node:cluster program: the primary forks N workers that share the port (round-robin),
// each a node:http server with the raw handler. SIGHUP replaces the workers one by one (a new
// one listening before the old one disconnects), as hand-written clusters do.
import cluster from 'node:cluster';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { handle } from './node-http.mjs';

const PROGRAM = fileURLToPath(import.meta.url);

const program = (workers) => ({
  name: `node:cluster -w ${workers}`,
  about: `node:cluster, ${workers} node:http worker${workers > 1 ? 's' : ''}`,
  unavailable: () => null,
  command: ({ port, keepAliveTimeout }) => [process.execPath, PROGRAM, JSON.stringify({ port, keepAliveTimeout, workers })],
  reload: (proc) => process.kill(proc.pid, 'SIGHUP'),
});

export default [program(1), program(2)];

async function replaceWorkers() {
  for (const old of Object.values(cluster.workers)) {
    const fresh = cluster.fork();
    await new Promise((resolve) => fresh.once('listening', resolve));
    old.disconnect();
  }
}

function main({ port, keepAliveTimeout, workers }) {
  if (cluster.isPrimary) {
    for (let i = 0; i < workers; i++) cluster.fork();
    process.on('SIGHUP', () => void replaceWorkers());
    // A worker that dies unasked is replaced; one we disconnected is not.
    cluster.on('exit', (worker) => {
      if (!worker.exitedAfterDisconnect) cluster.fork();
    });
    return;
  }
  const server = http.createServer(handle);
  if (keepAliveTimeout) server.keepAliveTimeout = keepAliveTimeout;
  server.listen(port, '127.0.0.1');
}

if (process.argv[1] === PROGRAM) main(JSON.parse(process.argv[2]));
