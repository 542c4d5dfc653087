// Bind addresses: parsing `host:port`, `[v6]:port`, `unix:/path`, `unix:@abstract` and `fd://N`,
// and listening on them with the backlog, SO_REUSEPORT and umask asked for.
import cluster from 'node:cluster';
import { unlinkSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import net from 'node:net';

export type BindAddress =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string } // an abstract name starts with '\0'
  | { kind: 'fd'; fd: number };

export class BindError extends Error {
  readonly code = 'ERR_TSWS_BIND';
}

const FORMS = 'host:port, [ipv6]:port, unix:/path, unix:@name or fd://N';

export function parseBind(spec: string): BindAddress {
  if (spec.startsWith('unix:')) {
    const path = spec.slice(5);
    if (!path || path === '@')
      throw new BindError(`bind "${spec}": a Unix socket needs a path (unix:/path) or a name (unix:@name)`);
    if (path.startsWith('@') && !hasAbstractSockets())
      throw new BindError(
        `bind "${spec}": abstract sockets need Node >= 22: this Node's libuv ${process.versions.uv} pads the ` +
          'name to 108 bytes, so only Node itself could connect; use unix:/path',
      );
    return { kind: 'unix', path: path.startsWith('@') ? `\0${path.slice(1)}` : path };
  }
  if (spec.startsWith('fd://')) {
    const fd = Number(spec.slice(5));
    if (!/^\d+$/.test(spec.slice(5)) || !Number.isSafeInteger(fd))
      throw new BindError(`bind "${spec}": fd://N needs a file descriptor number`);
    return { kind: 'fd', fd };
  }
  let host: string;
  let port: string;
  if (spec.startsWith('[')) {
    const end = spec.indexOf(']');
    host = spec.slice(1, end);
    port = spec.slice(end + 2);
    if (end < 0 || spec[end + 1] !== ':' || net.isIPv6(host) === false) {
      throw new BindError(`bind "${spec}": expected [ipv6]:port, e.g. [::1]:8000`);
    }
  } else {
    const colon = spec.lastIndexOf(':');
    if (colon < 0) throw new BindError(`bind "${spec}": expected ${FORMS}`);
    host = spec.slice(0, colon) || '0.0.0.0';
    port = spec.slice(colon + 1);
    if (host.includes(':'))
      throw new BindError(`bind "${spec}": put an IPv6 address in brackets, e.g. [${host}]:${port}`);
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || n > 65535)
    throw new BindError(`bind "${spec}": the port must be a number from 0 to 65535`);
  return { kind: 'tcp', host, port: n };
}

/**
 * An abstract socket's name is bound at its own length from libuv 1.48 (Node 22): before, the
 * name is padded with NULs to the whole sun_path, a different name to every other client (curl,
 * nginx, Python).
 */
export function hasAbstractSockets(uv = process.versions.uv ?? '0'): boolean {
  const [major = 0, minor = 0] = uv.split('.').map(Number);
  return major > 1 || (major === 1 && minor >= 48);
}

/** SO_REUSEPORT for net servers arrived in Node 22.12 and 23.1. */
export function hasReusePort(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** A readable name for a listening address: `127.0.0.1:8000`, `[::1]:8000`, `/run/app.sock`, `@name`. */
export function formatAddress(address: net.AddressInfo | string | null): string {
  if (address === null) return '(not listening)';
  if (typeof address === 'string') return address.startsWith('\0') ? `@${address.slice(1)}` : address;
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

/**
 * Removes a Unix socket file left by a dead process; refuses (BindError) a live one or a file that
 * is not a socket. No file: nothing to do. (An async lstat: on Node 20 a statSync of a socket
 * leaves module resolution not following the next symlink, nodejs/node#51142, and a pnpm
 * install is symlinks: the next import of a package failed.)
 */
export async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) throw new BindError(`bind "unix:${path}": the file exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new BindError(`bind "unix:${path}": another process is listening on it`);
  unlinkSync(path);
}

export interface ListenSettings {
  backlog: number;
  reusePort: boolean;
  umask: number | undefined;
}

/** Listens `server` on `address`; rejects with a BindError that names the address and the reason. */
export async function listenOn(server: net.Server, address: BindAddress, settings: ListenSettings): Promise<void> {
  const backlog = settings.backlog || undefined;
  let options: net.ListenOptions & { reusePort?: boolean };
  if (address.kind === 'tcp') {
    options = { host: address.host, port: address.port, backlog };
    if (settings.reusePort) {
      if (!hasReusePort())
        throw new BindError(`reusePort needs Node >= 22.12 or >= 23.1; this is Node ${process.versions.node}`);
      options.reusePort = true;
    }
  } else if (address.kind === 'unix') {
    // In a cluster worker the primary owns the socket file (it may be open for a sibling already):
    // a stale one is the master's to clear.
    if (!address.path.startsWith('\0') && !cluster.isWorker) await clearStaleSocket(address.path);
    options = { path: address.path, backlog };
  } else {
    options = { fd: address.fd, backlog } as net.ListenOptions;
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const where =
        address.kind === 'tcp'
          ? `${address.host}:${address.port}`
          : address.kind === 'unix'
            ? formatAddress(address.path)
            : `fd://${address.fd}`;
      const why =
        err.code === 'EADDRINUSE'
          ? 'address already in use'
          : err.code === 'EACCES'
            ? 'permission denied'
            : err.message;
      reject(new BindError(`cannot listen on ${where}: ${why}${err.code ? ` (${err.code})` : ''}`, { cause: err }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // The socket file is created inside listen(), so the umask is set around that call only.
    const previous =
      address.kind === 'unix' && settings.umask !== undefined ? process.umask(settings.umask) : undefined;
    try {
      server.listen(options);
    } finally {
      if (previous !== undefined) process.umask(previous);
    }
  });
}
