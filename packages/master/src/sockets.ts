// Unix socket files under a master: node:cluster's primary opens every Unix socket the workers
// listen on, so the master, not a worker, clears a stale file a killed master left behind (a
// worker would find the live one the primary just opened for its sibling).
import { clearStaleSocket, parseBind } from '@tsws/core/bind';

/** Removes the socket files of `binds` that nobody listens on; throws when one is live or not a socket. */
export async function clearStaleSockets(binds: string[]): Promise<void> {
  for (const bind of binds) {
    const address = parseBind(bind);
    if (address.kind === 'unix' && !address.path.startsWith('\0')) await clearStaleSocket(address.path);
  }
}
