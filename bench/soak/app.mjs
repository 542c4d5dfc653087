// The app the fault tests and the soak run under tsws-master. Every answer names the process that
// gave it (`ok 4242`), so a client knows which worker held each connection. Faults on demand:
//   /slow?ms=N    answers after N ms (requests in flight when a fault strikes)
//   /spin         blocks the event loop (for the master's --timeout); first writes
//                 $FAULT_DIR/spin-<pid>, so a test knows the worker can no longer accept
//   /throw?ms=N   answers, then throws from a timer N ms later: an exception outside any request
//   /whoami       `uid:gid pid`
//   /forwarded    what the app was told about the client: its address and the URL
// With $FAULT_DIR set, a worker that exits (process.exit, or an uncaught exception under Node's
// default) writes $FAULT_DIR/exit-<pid>.json: the connections it held at that moment.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { heldSockets } from './procfs.mjs';

const dir = process.env.FAULT_DIR;
if (dir)
  process.on('exit', (code) =>
    writeFileSync(join(dir, `exit-${process.pid}.json`), JSON.stringify({ code, sockets: heldSockets(process.pid) })),
  );

export default {
  async fetch(request, info) {
    const url = new URL(request.url);
    const ms = Number(url.searchParams.get('ms') ?? 100);
    switch (url.pathname) {
      case '/slow':
        await new Promise((resolve) => setTimeout(resolve, ms));
        return new Response(`slow ${process.pid}`);
      case '/spin': {
        if (dir) writeFileSync(join(dir, `spin-${process.pid}`), '');
        const until = Date.now() + 60_000;
        while (Date.now() < until);
        return new Response(`unblocked ${process.pid}`);
      }
      case '/throw':
        setTimeout(() => {
          throw new Error('thrown in a timer, outside any request');
        }, ms);
        return new Response(`throwing ${process.pid}`);
      case '/whoami':
        return new Response(`${process.getuid()}:${process.getgid()} ${process.pid}`);
      case '/forwarded':
        return Response.json({ url: request.url, remoteAddress: info?.remoteAddress });
      default:
        return new Response(`ok ${process.pid}`);
    }
  },
};
