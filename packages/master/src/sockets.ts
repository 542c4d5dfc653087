// Unix socket files under a master: node:cluster's primary opens every Unix socket the workers
// listen on, so the master, not a worker, clears a stale file a killed master left behind (a
// worker would find the live one the primary just opened for its sibling).
import { lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { parseBind } from '@tsws/core';

/** Connects to find out whether anyone listens on `path`. */
function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** Removes the socket files of `binds` that nobody listens on; throws when one is live or not a socket. */
export async function clearStaleSockets(binds: string[]): Promise<void> {
  for (const bind of binds) {
    const address = parseBind(bind);
    if (address.kind !== 'unix' || address.path.startsWith('\0')) continue;
    let isSocket: boolean;
    try {
      isSocket = lstatSync(address.path).isSocket();
    } catch {
      continue; // no file: nothing stale
    }
    if (!isSocket) throw new Error(`bind "${bind}": the file exists and is not a socket`);
    if (await listening(address.path)) throw new Error(`bind "${bind}": another process is listening on it`);
    unlinkSync(address.path);
  }
}
