// Where the server listens: every bind form, several at once, listeners handed in, and the socket
// options (backlog, SO_REUSEPORT, TCP_NODELAY) as the kernel sees them.

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BindError, hasReusePort, serve } from '@tsws/core';
import { hasAbstractSockets } from '@tsws/core/bind';
import { describe, expect, it, onTestFinished } from 'vitest';
import { start } from '../helpers/core.js';
import { ROOT, run } from '../helpers/proc.js';
import { tcpNoDelay } from '../helpers/sockopt.js';
import { sleep } from '../helpers/wait.mjs';

const hello = () => new Response('hello');

/** A GET over a Unix socket (a path, or '\0name' for an abstract one). */
function getVia(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: '/', headers: { Host: 'unix' } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsws-binds-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function listening(server: net.Server, options: net.ListenOptions): Promise<net.Server> {
  await new Promise<void>((resolve) => server.listen(options, resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

/** The fd of a listener or socket handle (internal to Node; stable since v0.x). */
function fdOf(handleOwner: net.Server | net.Socket): number {
  return (handleOwner as unknown as { _handle: { fd: number } })._handle.fd;
}

describe('binds', () => {
  it('host:port', async () => {
    const { server, origin, port } = await start(hello, { bind: '127.0.0.1:0' });
    expect(server.urls()).toEqual([`127.0.0.1:${port}`]);
    expect(server.address()).toMatchObject({ address: '127.0.0.1', port, family: 'IPv4' });
    expect(await (await fetch(origin)).text()).toBe('hello');
  });

  it('[::1]:port', async () => {
    const { server } = await start(hello, { bind: '[::1]:0' });
    const { port } = server.address() as net.AddressInfo;
    expect(server.urls()).toEqual([`[::1]:${port}`]);
    expect(await (await fetch(`http://[::1]:${port}/`)).text()).toBe('hello');
  });

  it('unix:/path, removed again on close', async () => {
    const path = join(tempDir(), 'app.sock');
    const { server } = await start(hello, { bind: `unix:${path}` });
    expect(server.address()).toBe(path);
    expect(server.urls()).toEqual([path]);
    expect(await getVia(path)).toBe('hello');
    await server.close();
    expect(existsSync(path)).toBe(false);
  });

  it('unix:/path replaces a stale socket file, refuses a live one and a regular file', async () => {
    const dir = tempDir();
    // A socket file whose process is gone: a second name for a socket that then closed.
    const stale = join(dir, 'stale.sock');
    const gone = await listening(net.createServer(), { path: join(dir, 'gone.sock') });
    linkSync(join(dir, 'gone.sock'), stale);
    await new Promise((r) => gone.close(r));
    expect(existsSync(stale)).toBe(true);
    await start(hello, { bind: `unix:${stale}` });
    expect(await getVia(stale)).toBe('hello');

    const live = join(dir, 'live.sock');
    await listening(net.createServer(), { path: live });
    const refusedLive = serve(hello, { bind: `unix:${live}` });
    await expect(refusedLive).rejects.toThrow(BindError);
    await expect(refusedLive).rejects.toThrow(`bind "unix:${live}": another process is listening on it`);

    const file = join(dir, 'file.sock');
    writeFileSync(file, 'not a socket');
    const refusedFile = serve(hello, { bind: `unix:${file}` });
    await expect(refusedFile).rejects.toThrow(BindError);
    await expect(refusedFile).rejects.toThrow(`bind "unix:${file}": the file exists and is not a socket`);
    expect(existsSync(file)).toBe(true);
  });

  it('unix:@name (Linux abstract namespace): served to any client from Node 22, refused before', async () => {
    const name = `tsws-test-${process.pid}-${Date.now()}`;
    if (!hasAbstractSockets()) {
      // Node 20's libuv binds the name padded to 108 bytes: only Node could reach it.
      await expect(serve(hello, { bind: `unix:@${name}` })).rejects.toThrow(
        `bind "unix:@${name}": abstract sockets need Node >= 22`,
      );
      return;
    }
    const { server } = await start(hello, { bind: `unix:@${name}` });
    expect(server.urls()).toEqual([`@${name}`]);
    expect(await getVia(`\0${name}`)).toBe('hello');
    // curl (not Node) names the socket at its own length. Not spawnSync: the server is in this process.
    const curl = await new Promise<string>((resolve, reject) =>
      execFile('curl', ['-sS', '-m', '10', '--abstract-unix-socket', name, 'http://unix/'], (err, out, errOut) =>
        err ? reject(new Error(`curl: ${errOut}`)) : resolve(out),
      ),
    );
    expect(curl).toBe('hello');
  });

  it('several binds at once', async () => {
    const path = join(tempDir(), 'many.sock');
    const { server } = await start(hello, { bind: ['127.0.0.1:0', '[::1]:0', `unix:${path}`] });
    const [v4, v6] = server.addresses() as net.AddressInfo[];
    expect(server.urls()).toEqual([`127.0.0.1:${v4!.port}`, `[::1]:${v6!.port}`, path]);
    expect(await (await fetch(`http://127.0.0.1:${v4!.port}/`)).text()).toBe('hello');
    expect(await (await fetch(`http://[::1]:${v6!.port}/`)).text()).toBe('hello');
    expect(await getVia(path)).toBe('hello');
  });

  it('fd://N and { fd }: listening sockets inherited from a parent', async () => {
    // The parent makes two listening sockets and hands them to the child as fds 3 and 4, as
    // systemd or a supervisor would; the child's server adopts one by bind, one by `sockets`.
    const a = await listening(net.createServer(), { host: '127.0.0.1', port: 0 });
    const b = await listening(net.createServer(), { host: '127.0.0.1', port: 0 });
    const options = { bind: 'fd://3', sockets: [{ fd: 4 }] };
    const child = run(
      join(ROOT, 'test/fixtures/serve.mjs'),
      [join(ROOT, 'test/fixtures/app.mjs'), JSON.stringify(options)],
      {
        fds: [fdOf(a), fdOf(b)],
      },
    );
    const ports = [(a.address() as net.AddressInfo).port, (b.address() as net.AddressInfo).port];
    // The parent stops accepting on its copies: only the child's server answers from now on.
    await Promise.all([a, b].map((s) => new Promise((r) => s.close(r))));
    await child.waitFor(/listening/);
    expect(child.out()).toContain(`127.0.0.1:${ports[0]} 127.0.0.1:${ports[1]}`);
    for (const port of ports) {
      for (let i = 0; i < 3; i++) {
        expect(await (await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })).text()).toBe(
          `hello from ${child.pid}`,
        );
      }
    }
  });

  it('sockets: [netServer], listening already or later', async () => {
    const ready = await listening(net.createServer(), { host: '127.0.0.1', port: 0 });
    const { server } = await start(hello, { bind: [], sockets: [ready] });
    expect(server.urls()).toEqual([`127.0.0.1:${(ready.address() as net.AddressInfo).port}`]);
    expect(
      await (
        await fetch(`http://127.0.0.1:${(ready.address() as net.AddressInfo).port}/`, {
          headers: { connection: 'close' },
        })
      ).text(),
    ).toBe('hello');

    const later = net.createServer();
    const adopted = await serve(hello, { bind: [], sockets: [later] });
    onTestFinished(() => adopted.close());
    expect(adopted.address()).toBe(null);
    await listening(later, { host: '127.0.0.1', port: 0 });
    // Connection: close, so no idle keep-alive connection holds up the listener's close.
    const res = await fetch(`http://127.0.0.1:${(later.address() as net.AddressInfo).port}/`, {
      headers: { connection: 'close' },
    });
    expect(await res.text()).toBe('hello');
  });

  it('reusePort: two servers share a port on Node >= 22.12; a clear BindError before', async () => {
    if (!hasReusePort()) {
      const refused = serve(hello, { bind: '127.0.0.1:0', reusePort: true });
      await expect(refused).rejects.toThrow(BindError);
      await expect(refused).rejects.toThrow(
        `reusePort needs Node >= 22.12 or >= 23.1; this is Node ${process.versions.node}`,
      );
      return;
    }
    const first = await start(() => new Response('first'), { bind: '127.0.0.1:0', reusePort: true });
    await start(() => new Response('second'), { bind: `127.0.0.1:${first.port}`, reusePort: true });
    const answers = new Set<string>();
    for (let i = 0; i < 40 && answers.size < 2; i++) {
      answers.add(await (await fetch(first.origin, { headers: { connection: 'close' } })).text());
    }
    expect(answers).toEqual(new Set(['first', 'second']));
  });

  it('without reusePort, a port in use is a BindError naming it', async () => {
    const first = await start(hello);
    const taken = serve(hello, { bind: `127.0.0.1:${first.port}` });
    await expect(taken).rejects.toThrow(BindError);
    await expect(taken).rejects.toThrow(
      `cannot listen on 127.0.0.1:${first.port}: address already in use (EADDRINUSE)`,
    );
  });

  it('backlog reaches the kernel', async () => {
    const { port } = await start(hello, { backlog: 123 });
    // For a listening socket, ss shows the backlog as Send-Q.
    const line = execFileSync('ss', ['-ltnH', `sport = :${port}`])
      .toString()
      .trim();
    const [, , sendQ] = line.split(/\s+/);
    expect(sendQ).toBe('123');
  });

  it('noDelay sets TCP_NODELAY on accepted sockets (and is on by default)', async () => {
    /** The server's side of a fresh connection to a server started with `options`. */
    async function accepted(options: Parameters<typeof start>[1]): Promise<net.Socket> {
      const { server } = await start(hello, options);
      const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      onTestFinished(() => void client.destroy());
      await new Promise((r) => client.once('connect', r));
      for (let i = 0; i < 100 && server.connections.size === 0; i++) await sleep(10);
      return [...server.connections][0]!.socket;
    }
    const handed = await listening(net.createServer(), { host: '127.0.0.1', port: 0 });
    const sockets = [
      await accepted({}),
      await accepted({ noDelay: false }),
      await accepted({ bind: [], sockets: [handed] }),
    ];
    const [byDefault, turnedOff, handedIn] = tcpNoDelay(sockets.map(fdOf));
    expect(byDefault).toBe('1');
    expect(turnedOff).toBe('0');
    expect(handedIn).toBe('1');
  });

  it('refuses bind strings it cannot read, with a BindError naming them', async () => {
    const bad: Record<string, RegExp> = {
      nonsense: /bind "nonsense": expected host:port/,
      '127.0.0.1:99999': /bind "127.0.0.1:99999": the port must be a number from 0 to 65535/,
      '127.0.0.1:http': /bind "127.0.0.1:http": the port must be/,
      '::1:8000': /bind "::1:8000": put an IPv6 address in brackets/,
      '[::1]8000': /bind "\[::1\]8000": expected \[ipv6\]:port/,
      '[nope]:80': /bind "\[nope\]:80": expected \[ipv6\]:port/,
      'unix:': /bind "unix:": a Unix socket needs a path/,
      'fd://three': /bind "fd:\/\/three": fd:\/\/N needs a file descriptor number/,
    };
    for (const [bind, message] of Object.entries(bad)) {
      const refused = serve(hello, { bind });
      await expect(refused, bind).rejects.toThrow(BindError);
      await expect(refused, bind).rejects.toThrow(message);
    }
  });
});
