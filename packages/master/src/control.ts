// The control socket: a Unix socket in the master that `tsws-ctl` talks to. One JSON object per
// line each way: `{"command":"worker add 2"}` gets `{"ok":true,"result":{...}}` or
// `{"ok":false,"error":"..."}`. Every command is a call on the Master's own API, through one
// table. A bad request gets an error reply and the connection stays usable; an oversized one is
// answered and closed. Nothing a client sends can throw in the master.
//
// Who may connect: Node has no SO_PEERCRED without native code, so the file mode does the work:
// the socket is created 0600 (under a umask, so never wider, not even for a moment) and Linux
// requires write permission on a socket file to connect to it; the default path is also in a
// directory of mode 0700 that we own, checked before use. Only the master's user (and root) get in.
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { clearStaleSocket, listenOn } from '@tsws/core/bind';
import type { Logger } from '@tsws/worker/internal';
import { show, VIEWS, type View, workerRows } from './inspect.js';
import type { Master } from './master.js';

/** The longest request line; more is refused and the connection closed. */
const MAX_LINE = 64 * 1024;
/** An idle client is closed after this long. */
const IDLE_MS = 60_000;

type Reply = { ok: true; result: unknown } | { ok: false; error: string };

interface Command {
  usage: string;
  help: string;
  run(master: Master, args: string[]): unknown;
}

function count(args: string[], usage: string, fallback?: number): number {
  const raw = args[0] ?? (fallback === undefined ? undefined : String(fallback));
  if (raw === undefined || args.length > 1 || !/^\d+$/.test(raw) || Number(raw) < 1)
    throw new Error(`usage: ${usage} (a whole number >= 1)`);
  return Number(raw);
}

function none(args: string[], usage: string): void {
  if (args.length) throw new Error(`usage: ${usage}`);
}

/** Every command, by its words; each is a call on the Master. */
export const COMMANDS: Record<string, Command> = {
  status: {
    usage: 'status',
    help: 'the master and a line per worker: pid, class, age, requests, in flight, RSS, event-loop use, last heartbeat',
    run: (m, args) => {
      none(args, 'status');
      return { master: show(m, 'stats'), workers: workerRows(m.workers) };
    },
  },
  show: {
    usage: `show ${VIEWS.join('|')}`,
    help: 'the workers, the settings in force, the listeners (with their accept queues), or the counters',
    run: (m, args) => {
      const view = args[0] as View;
      if (args.length !== 1 || !VIEWS.includes(view)) throw new Error(`usage: show ${VIEWS.join('|')}`);
      return m.show(view);
    },
  },
  'worker add': {
    usage: 'worker add [N]',
    help: 'N more workers (default 1)',
    run: (m, args) => m.addWorkers(count(args, 'worker add [N]', 1)),
  },
  'worker remove': {
    usage: 'worker remove [N]',
    help: 'N fewer workers (default 1, never fewer than one)',
    run: (m, args) => m.removeWorkers(count(args, 'worker remove [N]', 1)),
  },
  'worker kill': {
    usage: 'worker kill N',
    help: 'SIGKILL worker N (its number, or its pid); the master replaces it',
    run: (m, args) => m.killWorker(count(args, 'worker kill N')),
  },
  reload: {
    usage: 'reload',
    help: 'replace every worker with the code and settings read afresh (as HUP); answers once done or abandoned',
    run: async (m, args) => {
      none(args, 'reload');
      await m.reload();
      return { reloaded: true, workers: workerRows(m.workers) };
    },
  },
  reopen: {
    usage: 'reopen',
    help: 'reopen the log files (as USR1)',
    run: (m, args) => {
      none(args, 'reopen');
      m.reopen();
      return { reopened: true };
    },
  },
  shutdown: {
    usage: 'shutdown [graceful|quick]',
    help: 'graceful (default, as TERM: --drain-delay, then --graceful-timeout) or quick (as INT)',
    run: (m, args) => {
      const how = args[0] ?? 'graceful';
      if (args.length > 1 || (how !== 'graceful' && how !== 'quick'))
        throw new Error('usage: shutdown [graceful|quick]');
      // After the reply is out (the stop closes this socket).
      setImmediate(() => void m.stop({ graceful: how === 'graceful' }));
      return {
        stopping: true,
        graceful: how === 'graceful',
        drainDelay: how === 'graceful' ? m.settings.drainDelay : 0,
      };
    },
  },
  help: {
    usage: 'help',
    help: 'this list',
    run: () => Object.values(COMMANDS).map((c) => ({ usage: c.usage, help: c.help })),
  },
};

/** Runs one request line; never throws. */
export async function answer(master: Master, line: string): Promise<Reply> {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { ok: false, error: 'malformed request: expected one JSON object per line, e.g. {"command":"status"}' };
  }
  const text = (request as { command?: unknown } | null)?.command;
  if (typeof text !== 'string')
    return { ok: false, error: 'malformed request: expected {"command":"..."}, e.g. {"command":"status"}' };
  const words = text.trim().split(/\s+/).filter(Boolean);
  const two = `${words[0]} ${words[1]}`;
  const [name, args] = Object.hasOwn(COMMANDS, two) ? [two, words.slice(2)] : [words[0] ?? '', words.slice(1)];
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command)
    return {
      ok: false,
      error: `unknown command ${JSON.stringify(text.trim())}: expected ${Object.values(COMMANDS)
        .map((c) => c.usage)
        .join(', ')}`,
    };
  try {
    return { ok: true, result: await command.run(master, args) };
  } catch (err) {
    return { ok: false, error: (err as Error)?.message ?? String(err) };
  }
}

function serveClient(master: Master, socket: net.Socket, log: Logger): void {
  let buffer = '';
  let queue = Promise.resolve();
  socket.setEncoding('utf8');
  socket.setTimeout(IDLE_MS, () => socket.destroy());
  socket.on('error', (err) => log.debug({ err }, 'control socket client error'));
  const reply = (r: Reply) => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
  };
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line === '') continue;
      // One at a time, in order, per client.
      queue = queue.then(async () => reply(await answer(master, line)));
    }
    if (buffer.length > MAX_LINE) {
      buffer = '';
      reply({ ok: false, error: `request too long: more than ${MAX_LINE} bytes without a newline` });
      socket.end();
    }
  });
}

/** The default directory must be ours alone: a directory (not a link) owned by us, mode 0700. */
function checkPrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (uid !== undefined && st.uid !== uid) throw new Error(`${dir} belongs to uid ${st.uid}, not to us (uid ${uid})`);
  if ((st.mode & 0o077) !== 0)
    throw new Error(`${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)}); it must be 0700`);
}

export interface ControlSocket {
  path: string;
  close(): Promise<void>;
}

/**
 * Opens the control socket at `path`. In the default directory (`isDefault`), the directory is
 * made private and sockets left by masters that died are removed. Rejects with the reason.
 */
export async function openControlSocket(
  master: Master,
  path: string,
  isDefault: boolean,
  log: Logger,
): Promise<ControlSocket> {
  const dir = dirname(path);
  if (isDefault) {
    checkPrivateDir(dir);
    for (const name of readdirSync(dir)) {
      if (name.endsWith('.sock') && join(dir, name) !== path) await clearStaleSocket(join(dir, name)).catch(() => {});
    }
  }
  const clients = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    clients.add(socket);
    socket.once('close', () => clients.delete(socket));
    serveClient(master, socket, log);
  });
  try {
    // Created 0600: the umask applies while the socket file is made.
    await listenOn(server, { kind: 'unix', path }, { backlog: 16, reusePort: false, umask: 0o177 });
    chmodSync(path, 0o600);
  } catch (err) {
    server.close();
    throw new Error(`--control-socket ${path}: ${(err as Error).message}`);
  }
  log.info({ controlSocket: path }, `control socket at ${path} (tsws-ctl --control-socket ${path} status)`);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        // net.Server.close() removes the socket file it made.
        server.close(() => resolve());
        for (const c of clients) c.destroy();
      }),
  };
}
