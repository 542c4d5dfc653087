// One master for the scheduling benchmark, run under `taskset` by scheduling.mjs: createMaster
// with the policy in argv (`sticky` for --sticky; and an access log, a metrics bind when given),
// and answers 'stats' over IPC with each worker's pid and request count.
import { createMaster } from '@tsws/master';

const [scheduling, port, workers, accessLog, metricsBind] = process.argv.slice(2);
const master = createMaster({
  app: new URL('./hello.mjs', import.meta.url).pathname,
  bind: [`127.0.0.1:${port}`],
  workers: Number(workers),
  ...(scheduling === 'sticky' ? { sticky: true } : { scheduling }),
  logLevel: 'warn',
  ...(accessLog ? { accessLog } : {}),
  ...(metricsBind ? { metricsBind } : {}),
});
await master.start();
process.on('message', (message) => {
  if (message === 'stats')
    process.send({
      pid: process.pid,
      workers: master.workers.map((w) => ({ pid: w.pid, requests: w.status?.requests ?? 0 })),
    });
  if (message === 'stop') void master.stop().then(() => process.exit(0));
});
process.send('ready');
