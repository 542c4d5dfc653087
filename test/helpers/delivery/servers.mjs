// The servers the delivery matrix runs through, each our real command-line program serving
// test/helpers/delivery/app.mjs under the Node that runs this file: `tsws` (the core), `tsws-master -w 2`
// and `tsws -k node` (node:http through the fetch adapter). Their JSON log lines are kept, so a
// cut can be checked against the warn line it must leave.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSWS = `${ROOT}packages/tsws/bin/tsws.js`;
const MASTER = `${ROOT}packages/tsws/bin/tsws-master.js`;
export const APP = fileURLToPath(new URL('./app.mjs', import.meta.url));

export const SERVERS = {
  tsws: { bin: TSWS, args: [], ready: 'listening on ' },
  'tsws-master -w 2': { bin: MASTER, args: ['--workers', '2'], ready: 'ready' },
  'tsws -k node': { bin: TSWS, args: ['--worker-class', 'node'], ready: 'listening on ' },
};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * Starts one of SERVERS on a free loopback port with `--body-timeout` (seconds) and `env` (e.g.
 * TSWS_DELIVERY_DIR); resolves once it says it is ready. `logs()`: its JSON log lines so far.
 */
export async function startServer(name, { bodyTimeout, env = {}, args = [] }) {
  const def = SERVERS[name];
  const port = await freePort();
  const argv = [
    def.bin,
    APP,
    '--bind',
    `127.0.0.1:${port}`,
    '--body-timeout',
    String(bodyTimeout),
    ...def.args,
    ...args,
  ];
  // Its own process group, so stopping it reaches the master's workers too.
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let text = '';
  child.stderr.on('data', (d) => (text += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let gone = false;
  void exited.then(() => (gone = true));
  const logs = () =>
    text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return []; // a line still being written
        }
      });
  const server = {
    name,
    port,
    pid: child.pid,
    logs,
    /** Lines at warn (pino level 40) or worse. */
    warnings: () => logs().filter((l) => l.level >= 40),
    stderr: () => text,
    async stop() {
      if (gone) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
  };
  const until = Date.now() + 20_000;
  while (!logs().some((l) => l.msg?.startsWith(def.ready))) {
    if (gone || Date.now() > until) {
      await server.stop();
      throw new Error(`${name} did not start: ${text.trim().split('\n').slice(-3).join(' / ')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return server;
}
