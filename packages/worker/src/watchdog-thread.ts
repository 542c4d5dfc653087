// The watchdog thread of a master's worker (see watchdog.ts): it reads the shared memory every
// tick; once the main thread's counter has stood still for two ticks it tells the master which
// request the loop is blocked in (a JSON line on the watchdog pipe, again every tick while it
// stays blocked), and once the master has gone (the pipe ends) it ends the worker if the loop
// stays blocked past --timeout (--graceful-timeout when that is off).
import { appendFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { workerData } from 'node:worker_threads';
import { HEAD_BYTES, METHOD_BYTES, METHODS, SLOT, TARGET_BYTES, WATCHDOG_FD, type WatchdogData } from './watchdog.js';

const data = workerData as WatchdogData;
const slots = new Int32Array(data.memory, 0, HEAD_BYTES / 4);
const method = new Uint8Array(data.memory, HEAD_BYTES, METHOD_BYTES);
const target = new Uint8Array(data.memory, HEAD_BYTES + METHOD_BYTES, TARGET_BYTES);
const decoder = new TextDecoder();

let progress = Atomics.load(slots, SLOT.PROGRESS);
let movedAt = Date.now();
let entered = Atomics.load(slots, SLOT.ENTERED);
let enteredAt = Date.now();
let masterGone = false;

const pipe = new net.Socket({ fd: WATCHDOG_FD, readable: true, writable: true });
pipe.on('error', () => {});
pipe.on('close', () => (masterGone = true));
pipe.resume();

/** The request the main thread is in (its handler has not returned), or null. */
function current(now: number): { method: string; target: string; ageMs: number } | null {
  if (Atomics.load(slots, SLOT.IN_HANDLER) !== 1) return null;
  const url = decoder.decode(target.subarray(0, Atomics.load(slots, SLOT.TARGET_LENGTH)));
  const code = Atomics.load(slots, SLOT.METHOD);
  return {
    method: METHODS[code - 1] ?? decoder.decode(method.subarray(0, Atomics.load(slots, SLOT.METHOD_LENGTH))),
    // A fetch app's request.url is absolute: the target is what follows the origin.
    target: url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '') || '/',
    ageMs: now - enteredAt,
  };
}

/** A fatal line in the worker's error log, as its pino would have written it. */
function fatal(msg: string, fields: Record<string, unknown>): void {
  const line = data.json
    ? `${JSON.stringify({ level: 60, time: Date.now(), pid: process.pid, worker: data.worker, ...fields, msg })}\n`
    : `[${new Date().toISOString().slice(11, 23)}] FATAL: [worker ${data.worker}] ${msg}  ${Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`)
        .join(' ')}\n`;
  try {
    if (data.errorLog === '-') writeSync(2, line);
    else appendFileSync(data.errorLog, line);
  } catch {
    // nowhere to say it
  }
}

setInterval(() => {
  const now = Date.now();
  const p = Atomics.load(slots, SLOT.PROGRESS);
  const e = Atomics.load(slots, SLOT.ENTERED);
  if (e !== entered) {
    entered = e;
    enteredAt = now;
  }
  if (p !== progress) {
    progress = p;
    movedAt = now;
    return;
  }
  const blockedMs = now - movedAt;
  if (blockedMs < 2 * data.tickMs) return;
  const request = current(now);
  if (!masterGone) {
    pipe.write(`${JSON.stringify({ blockedMs, requests: entered, request })}\n`);
    return;
  }
  const limitMs = data.timeoutMs > 0 ? data.timeoutMs : data.gracefulMs;
  if (blockedMs < limitMs) return;
  const doing = request ? `${request.method} ${request.target}` : 'outside any request handler';
  fatal(
    `the master is gone and the event loop has been blocked for ${(blockedMs / 1000).toFixed(1)} s (${doing}): exiting`,
    {
      blockedMs,
      request,
    },
  );
  process.kill(process.pid, 'SIGKILL');
}, data.tickMs);
