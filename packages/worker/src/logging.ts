// Logs for masters and workers: pino for the error log (JSON lines, or pretty for people), and a
// hand-built access log line per request, buffered and written off the request path.
import type { AccessRecord } from '@tsws/core';
import { createRequire } from 'node:module';
import pino from 'pino';
import type { Settings } from './settings.js';

export type Logger = pino.Logger;

type LogSettings = Pick<Settings, 'logLevel' | 'logFormat' | 'errorLog'>;

export interface Logging {
  log: Logger;
  /** Reopens log files (SIGUSR1 after rotation). */
  reopen(): void;
  /** Writes out anything buffered (before exit). */
  flush(): void;
}

/** The error log: `bindings` (e.g. `{ pid, worker: 2 }`) are serialised once into every line. */
export function createLogger(settings: LogSettings, bindings: Record<string, unknown> = {}): Logging {
  const toStderr = settings.errorLog === '-';
  // Sync writes: error logs are rare, and a line must not be lost when the process exits right after.
  const dest = pino.destination({ dest: toStderr ? 2 : settings.errorLog, sync: true, mkdir: !toStderr });
  // pino-pretty costs ~100-300 ms to import: only the pretty format pays for it.
  const pretty = settings.logFormat === 'pretty' ? (createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')) : undefined;
  const stream =
    pretty !== undefined
      ? pretty({ destination: dest, colorize: toStderr && process.stderr.isTTY, sync: true, ignore: 'hostname' })
      : dest;
  const log = pino({ level: settings.logLevel, base: { pid: process.pid, ...bindings } }, stream);
  return {
    log,
    reopen: () => {
      if (!toStderr) dest.reopen();
    },
    flush: () => dest.flushSync(),
  };
}

export interface AccessLog {
  write(record: AccessRecord): void;
  reopen(): void;
  flush(): void;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Apache's `[10/Oct/2000:13:55:36 +0000]`, in UTC. */
function clf(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `[${p(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000]`;
}

/**
 * The access log: one line per request to `path` (`-` is standard output). JSON lines by default;
 * with `pretty`, Apache's combined format plus duration and pid. Lines are built by string
 * concatenation (user-controlled fields escaped through JSON.stringify) and buffered in 4 KiB
 * writes, so a request pays for one string, not a syscall.
 */
export function createAccessLog(path: string, format: Settings['logFormat']): AccessLog {
  const toStdout = path === '-';
  // Buffered in 4 KiB writes, and flushed every second so a quiet server's lines still show.
  const dest = pino.destination({ dest: toStdout ? 1 : path, sync: false, minLength: 4096, periodicFlush: 1000, mkdir: !toStdout });
  const pid = process.pid;
  const write =
    format === 'pretty'
      ? (r: AccessRecord) =>
          dest.write(
            `${r.remoteAddress || '-'} - - ${clf(new Date())} ${JSON.stringify(`${r.method} ${r.target} HTTP/${r.httpVersion}`)} ${r.status} ${r.bytes} ${JSON.stringify(r.referer || '-')} ${JSON.stringify(r.userAgent || '-')} ${r.durationMs.toFixed(3)}ms pid=${pid}\n`,
          )
      : (r: AccessRecord) =>
          dest.write(
            `{"time":${Date.now()},"remote":${JSON.stringify(r.remoteAddress)},"method":${JSON.stringify(r.method)},"target":${JSON.stringify(r.target)},"http":"${r.httpVersion}","status":${r.status},"bytes":${r.bytes},"durationMs":${r.durationMs.toFixed(3)},"userAgent":${JSON.stringify(r.userAgent)},"referer":${JSON.stringify(r.referer)},"pid":${pid}}\n`,
          );
  return {
    write,
    reopen: () => {
      if (!toStdout) dest.reopen();
    },
    // The file opens asynchronously: until it has, there is nothing to flush to (and flushSync throws).
    flush: () => {
      if ((dest as unknown as { fd: number }).fd >= 0) dest.flushSync();
    },
  };
}
