// Memory: a server's idle RSS (against a bare `node` holding one listening socket), and the
// RSS each idle keep-alive connection costs, measured with CONNECTIONS real connections held
// open by a client process on the other core.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, rssKiB, startPinned, stop, waitForPort } from './proc.mjs';

export const CONNECTIONS = 5000;
const HOLD = fileURLToPath(new URL('./load/hold.mjs', import.meta.url));
const SETTLE_MS = 1000;
/** Long enough that no connection times out while we measure. */
const KEEP_ALIVE_MS = 120_000;

/** The floor: what Node itself costs with one listening socket. */
export const bareNode = {
  name: 'bare node',
  command: ({ port }) => [process.execPath, '-e', `require('node:net').createServer().listen(${port}, '127.0.0.1')`],
};

async function started(server, cpu) {
  const port = await freePort();
  const proc = startPinned(server.command({ port, keepAliveTimeout: KEEP_ALIVE_MS }), cpu);
  try {
    await waitForPort(proc, port);
  } catch (err) {
    await stop(proc);
    throw err;
  }
  return { proc, port };
}

/** RSS (bytes) of the server once started and left alone for a second. */
export async function idleRss(server, { serverCpu }) {
  const { proc } = await started(server, serverCpu);
  try {
    await sleep(SETTLE_MS);
    return rssKiB(proc.pid) * 1024;
  } finally {
    await stop(proc);
  }
}

/**
 * Bytes of RSS per idle keep-alive connection: the server's RSS with CONNECTIONS connections
 * open (each has carried one request), minus its RSS before, over CONNECTIONS. A warm-up of a
 * few hundred requests first, so code compiled on the first requests is not counted.
 */
export async function perConnection(server, { serverCpu, clientCpu }) {
  const { proc, port } = await started(server, serverCpu);
  let client;
  try {
    await holdConnections(port, 200, clientCpu).then((c) => c.close());
    await sleep(SETTLE_MS);
    const before = rssKiB(proc.pid);
    client = await holdConnections(port, CONNECTIONS, clientCpu);
    await sleep(SETTLE_MS);
    const after = rssKiB(proc.pid);
    if (client.lost()) throw new Error('the server closed idle connections while they were measured');
    return { bytesPerConnection: ((after - before) * 1024) / CONNECTIONS, rssBefore: before * 1024, rssAfter: after * 1024 };
  } finally {
    await client?.close();
    await stop(proc);
  }
}

function holdConnections(port, count, cpu) {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', String(cpu), process.execPath, HOLD, String(port), String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const closed = new Promise((r) => child.on('close', r));
    const handle = {
      lost: () => out.includes('@@lost'),
      close: async () => {
        child.kill('SIGKILL');
        await closed;
      },
    };
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('@@ready')) resolve(handle);
    });
    child.stderr.on('data', (d) => (out += d));
    void closed.then((code) => reject(new Error(`connection client exited (${code}) before holding ${count}: ${out.trim()}`)));
  });
}
