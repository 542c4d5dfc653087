// Keep-alive load while the server reloads its workers (SIGHUP to a pre-fork master, `pm2
// reload`): midway through the measured window the runner calls the server's `reload(pid)`.
// What matters is that errors stay 0 and throughput dips only briefly. Runs only on servers
// that declare `reload` (tsws-master, PM2 once they land).
export default {
  title: 'hello world under a reload (HUP)',
  request: { method: 'GET', path: '/', headers: {} },
  connections: 10,
  needs: 'reload',
  reloadAt: 0.5, // fraction of the measured window
  expect: { status: 200, contentType: 'text/plain', bodyBytes: 11 },
};
