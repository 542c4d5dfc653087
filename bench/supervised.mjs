// What the servers with several processes (tsws-master, a plain node:cluster program, PM2's
// cluster mode) share: they run the same tsws workers, so they are compared only where the
// supervision can show (how connections reach workers, and reloads), not on every payload.
// The reload comparison is at two workers (a reload with one worker has nothing to hand over to).
export const scenariosFor = (workers) => [
  'hello-keepalive',
  'connection-close',
  'conns-50',
  ...(workers > 1 ? ['reload-under-load'] : []),
];
/** The table these servers appear in, apart from the single processes. */
export const SUPERVISED_GROUP = 'supervised';
