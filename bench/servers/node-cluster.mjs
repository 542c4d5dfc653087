// A plain node:cluster program running the same tsws core app: the primary forks N workers that
// each call run(app) from @tsws/core on the shared port, and does nothing else (no heartbeats,
// no respawn limits, no log). Against tsws-master this is our supervision against none, with
// the same workers. Its scheduling is SCHED_NONE (one shared listening socket), the master's
// default `shared`; a node:cluster program left to its default would use round-robin, which is
// `tsws-master --scheduling rr`. SIGHUP replaces the workers one by one, as hand-written clusters
// do: a new worker listens, then the old one gets SIGTERM and drains (run() answers what it has,
// the last response on each connection says Connection: close).
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitForLog } from '../proc.mjs';
import { SUPERVISED_GROUP, scenariosFor } from '../supervised.mjs';

const PROGRAM = fileURLToPath(import.meta.url);
const BUILT = fileURLToPath(new URL('../../packages/core/dist/index.js', import.meta.url));

const program = (workers) => ({
  name: `node:cluster -w ${workers}`,
  about: `a plain node:cluster program (SCHED_NONE), ${workers} worker${workers > 1 ? 's' : ''} each running run(app) from @tsws/core`,
  group: SUPERVISED_GROUP,
  scenarios: scenariosFor(workers),
  workers,
  unavailable: () => (existsSync(BUILT) ? null : 'packages/core is not built: run `pnpm build`'),
  command: ({ port, keepAliveTimeout }) => [
    process.execPath,
    PROGRAM,
    JSON.stringify({ port, keepAliveTimeout, workers }),
  ],
  async reload(proc) {
    const done = waitForLog(proc, /reload done/);
    process.kill(proc.pid, 'SIGHUP');
    return done;
  },
});

export default [program(1), program(2)];

async function replaceWorkers() {
  for (const old of Object.values(cluster.workers)) {
    const fresh = cluster.fork();
    await new Promise((resolve) => fresh.once('listening', resolve));
    old.process.kill('SIGTERM');
  }
  process.stderr.write('reload done\n');
}

async function main({ port, keepAliveTimeout, workers }) {
  if (cluster.isPrimary) {
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    for (let i = 0; i < workers; i++) cluster.fork();
    cluster.on('listening', (worker, address) =>
      process.stderr.write(`worker ${worker.process.pid} listening on ${address.address}:${address.port}\n`),
    );
    let reloading = Promise.resolve();
    process.on('SIGHUP', () => (reloading = reloading.then(replaceWorkers)));
    // A worker that dies unasked is replaced; one we stopped (exit code 0) is not.
    cluster.on('exit', (_worker, code) => {
      if (code !== 0) cluster.fork();
    });
    return;
  }
  const { run } = await import('@tsws/core');
  const { default: app } = await import('../app.mjs');
  await run(app, { bind: `127.0.0.1:${port}`, ...(keepAliveTimeout ? { keepAliveTimeout } : {}) });
  process.exit(0);
}

if (process.argv[1] === PROGRAM) await main(JSON.parse(process.argv[2]));
