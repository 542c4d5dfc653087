// Keep-alive load while a multi-process server replaces its workers: SIGHUP to tsws-master -w 2,
// `pm2 reload` of PM2 cluster mode (2 instances), the plain node:cluster program's rolling
// restart. A quarter into the measured window the runner calls the server's `reload(proc)` and
// waits for it to finish; the window is long enough for a whole reload (PM2's takes ~3-4 s: it
// starts the new instances one at a time and waits for each one's `ready`). What matters:
// failed requests (the load tool's connect, read (resets, connections closed mid-response),
// write and timeout errors, and non-2xx answers) stay 0, and req/s dips little against the same
// server's rate without a reload (the hello-world keep-alive scenario).
export default {
  title: 'hello world across a reload',
  request: { method: 'GET', path: '/', headers: {} },
  connections: 10,
  needs: 'reload',
  reloadAt: 0.25, // fraction of the measured window
  minDurationS: 8,
  expect: { status: 200, contentType: 'text/plain', bodyBytes: 11 },
};
