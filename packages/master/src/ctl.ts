// tsws-ctl [--control-socket PATH] [--json] COMMAND: steers a running tsws-master through its
// control socket (control.ts has the commands and the protocol). Without --control-socket it uses
// TSWS_CONTROL_SOCKET, else the one master with a socket in the default directory.
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { controlSocketDir, envName, SETTINGS } from '@tsws/worker/internal';
import { CommanderError, Command as Program } from 'commander';
import type { WorkerRow } from './inspect.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/** tsws-ctl's exit codes. */
const CODE = { OK: 0, FAILED: 1, USAGE: 2, UNREACHABLE: 3 } as const;

class CtlError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** The socket to use: the flag, TSWS_CONTROL_SOCKET, or the one live socket in the default directory. */
async function findSocket(given: string | undefined): Promise<string> {
  const env = process.env[envName('controlSocket')];
  const named = given ?? (env ? SETTINGS.controlSocket.parse(env) : undefined);
  if (named === false) throw new CtlError(`${envName('controlSocket')} turns the control socket off`, CODE.USAGE);
  if (named !== undefined) return named;
  const dir = controlSocketDir();
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.sock'));
  } catch {
    // no directory: no master has made one
  }
  const live: string[] = [];
  for (const n of names) if (await probe(join(dir, n))) live.push(join(dir, n));
  if (live.length === 1) return live[0]!;
  if (live.length === 0)
    throw new CtlError(
      `no running tsws-master has a control socket in ${dir} ` +
        '(is it running as this user? else give --control-socket PATH)',
      CODE.UNREACHABLE,
    );
  throw new CtlError(
    `${live.length} masters have control sockets in ${dir}: pick one with --control-socket: ${live.join(', ')}`,
    CODE.USAGE,
  );
}

type Reply = { ok: true; result: unknown } | { ok: false; error: string };

/** Sends one command and resolves with the master's reply. */
function request(path: string, command: string, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new CtlError(`no answer from ${path} within ${timeoutMs / 1000} s`, CODE.UNREACHABLE));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ command })}\n`));
    socket.on('data', (chunk: string) => {
      data += chunk;
      const nl = data.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        resolve(JSON.parse(data.slice(0, nl)) as Reply);
      } catch {
        reject(new CtlError(`a reply that is not JSON from ${path}: ${data.slice(0, 200)}`, CODE.FAILED));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? 'no master is listening there'
          : err.code === 'EACCES'
            ? 'permission denied (the socket belongs to another user)'
            : err.message;
      reject(new CtlError(`cannot reach ${path}: ${why}`, CODE.UNREACHABLE));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!data.includes('\n')) reject(new CtlError(`${path} closed without an answer`, CODE.UNREACHABLE));
    });
  });
}

// ---- printing for people -------------------------------------------------------------------

function duration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

const mib = (bytes: number | null) => (bytes === null ? '-' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

/** A table: columns padded to their widest cell, numbers right-aligned. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const right = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[\d.]+( MiB|%)?$|^-$/.test(r[i]!)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function workersTable(rows: WorkerRow[]): string {
  return table(
    ['WORKER', 'PID', 'CLASS', 'STATE', 'AGE', 'REQUESTS', 'IN FLIGHT', 'RSS', 'ELU', 'LAST BEAT'],
    rows.map((w) => [
      String(w.id),
      String(w.pid),
      w.workerClass ?? '-',
      w.replace ? `${w.state} (${w.replace})` : w.state,
      duration(w.ageSeconds),
      w.requests === null ? '-' : String(w.requests),
      w.inFlight === null ? '-' : String(w.inFlight),
      mib(w.rss),
      w.elu === null ? '-' : `${(w.elu * 100).toFixed(1)}%`,
      `${w.lastHeartbeatSecondsAgo.toFixed(1)}s ago`,
    ]),
  );
}

function keyValues(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  return Object.entries(value)
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join('\n');
}

function human(words: string[], result: unknown): string {
  const r = result as Record<string, unknown>;
  switch (words[0]) {
    case 'status': {
      const m = r.master as Record<string, unknown> & { workers: { ready: number; target: number } };
      const requests = m.requests as { total: number } | null;
      const head = [
        `tsws-master pid ${m.pid}`,
        String(m.state),
        m.ready ? 'ready' : `not ready: ${m.reason}`,
        `${m.workers.ready}/${m.workers.target} workers`,
        `up ${duration(Number(m.uptimeSeconds))}`,
        ...(requests ? [`${requests.total} requests`] : []),
      ].join(' · ');
      return `${head}\n${workersTable(r.workers as WorkerRow[])}`;
    }
    case 'show':
      return words[1] === 'workers' ? workersTable(result as WorkerRow[]) : keyValues(result);
    case 'worker':
      if (words[1] === 'kill') return `killed worker ${r.id} (pid ${r.pid}); the master starts a replacement`;
      return `workers: ${r.previous} -> ${r.target}`;
    case 'reload':
      return `reloaded\n${workersTable(r.workers as WorkerRow[])}`;
    case 'reopen':
      return 'reopened the log files';
    case 'shutdown':
      return r.graceful
        ? `stopping gracefully${Number(r.drainDelay) > 0 ? ` after a ${r.drainDelay} s drain delay` : ''}`
        : 'stopping now';
    case 'help':
      return (result as Array<{ usage: string; help: string }>)
        .map((c) => `  ${c.usage.padEnd(34)}${c.help}`)
        .join('\n');
    default:
      return keyValues(result);
  }
}

function program(): Program {
  return new Program('tsws-ctl')
    .description(
      [
        'Steer a running tsws-master through its control socket.',
        '',
        'Commands:',
        '  status                            the master and its workers',
        '  show workers|config|listeners|stats',
        '  worker add [N] | worker remove [N] | worker kill N',
        '  reload | reopen | shutdown [graceful|quick] | help',
        '',
        'Exit codes: 0 done, 1 the master refused the command, 2 a bad command line, 3 no master reached.',
      ].join('\n'),
    )
    .version(VERSION, '-v, --version', 'Show the version.')
    .helpOption('-h, --help', 'Show this help.')
    .argument('<command...>', 'the command and its arguments')
    .option(
      '-s, --control-socket <path>',
      `the master's control socket (default: ${envName('controlSocket')}, else the only one in ${controlSocketDir()})`,
    )
    .option('--json', 'print the answer as JSON')
    .option('--timeout <seconds>', 'give up waiting for the answer after this long', '120')
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
}

async function main(argv: string[]): Promise<number> {
  const p = program();
  try {
    p.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version')
        return CODE.OK;
      process.stderr.write(`tsws-ctl: ${err.message.replace(/^error: /, '')} (see tsws-ctl --help)\n`);
      return CODE.USAGE;
    }
    throw err;
  }
  const opts = p.opts<{ controlSocket?: string; json?: boolean; timeout: string }>();
  const words = p.args;
  const timeout = Number(opts.timeout);
  try {
    if (!Number.isFinite(timeout) || timeout <= 0) throw new CtlError('--timeout: expected seconds > 0', CODE.USAGE);
    const path = await findSocket(opts.controlSocket);
    const reply = await request(path, words.join(' '), timeout * 1000);
    if (!reply.ok)
      throw new CtlError(reply.error, /^(usage:|unknown command)/.test(reply.error) ? CODE.USAGE : CODE.FAILED);
    process.stdout.write(`${opts.json ? JSON.stringify(reply.result, null, 2) : human(words, reply.result)}\n`);
    return CODE.OK;
  } catch (err) {
    if (!(err instanceof CtlError)) throw err;
    process.stderr.write(`tsws-ctl: ${err.message}\n`);
    return err.exitCode;
  }
}

process.exitCode = await main(process.argv.slice(2));
