#!/usr/bin/env node
// The soak: the fault tests' loop, for as long as you like. `pnpm build`, then
//   node bench/soak/run.mjs [--minutes 10] [--round 60] [--workers 2] [--scheduling shared] [--seed N] [--no-retry]
// (`pnpm soak` runs ten minutes). Each round starts a real tsws-master on a free 127.0.0.1 port
// (workers recycled by --max-requests as they go), puts it under load (test/helpers/loadgen.mjs: keep-alive
// clients, some busy and some idle for up to 1.5 s between requests, and clients opening a new
// connection per request), injects a fault every 2-4 s (HUP reload, SIGKILL of a worker, a worker
// stuck in a busy loop, an exception thrown in a worker's timer), then stops the master under load,
// by SIGTERM and by SIGKILL in turn.
//
// Every request is accounted for. A failed request is "confined" when its connection was held by
// the worker a kill, busy loop or exception struck (read from /proc while that worker could not
// accept, as in test/faults/); requests sent after the master was told to stop are the stop's, and
// must be none of those in flight. A GET on a reused keep-alive connection that dies before any
// answer byte is sent again on a new connection, as browsers and undici do (RFC 9112 §9.3.1): the
// server may close an idle connection as a request leaves; these are counted and printed apart
// (--no-retry makes them losses). Anything else is LOST, printed in full, and the exit code is 1.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeFate, startLoad } from '../../test/helpers/loadgen.mjs';
import { childPids, heldConnections, processGroup } from '../../test/helpers/procfs.mjs';
import { mulberry32 } from '../../test/helpers/random.mjs';
import { sleep, until } from '../../test/helpers/wait.mjs';
import { parseResponse } from '../../test/helpers/wire.mjs';

/** The fault tests' app (test/fixtures/faults/app.mjs). */
const APP_DIR = fileURLToPath(new URL('../../test/fixtures/faults/', import.meta.url));
/** How long to wait for the master and its workers, unless said otherwise. */
const WAIT_MS = 20_000;
const MASTER = fileURLToPath(new URL('../../packages/tsws/bin/tsws-master.js', import.meta.url));

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    round: { type: 'string', default: '60' },
    workers: { type: 'string', default: '2' },
    scheduling: { type: 'string', default: 'shared' },
    seed: { type: 'string' },
    'no-retry': { type: 'boolean', default: false },
  },
});
const seed = values.seed ? Number(values.seed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const minutes = Number(values.minutes);
const roundMs = Number(values.round) * 1000;
const WORKERS = String(Number(values.workers));
const SCHEDULING = values.scheduling;

// The fault schedule replays from the seed (the machine's timing does not).
const random = mulberry32(seed);

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A tsws-master with its JSON log lines. */
async function startMaster(port, dir) {
  const args = [
    MASTER,
    'app.mjs',
    '--chdir',
    APP_DIR,
    '-b',
    `127.0.0.1:${port}`,
    '-w',
    WORKERS,
    '--scheduling',
    SCHEDULING,
    '--timeout',
    '2',
    '--max-requests',
    '1000',
    '--max-requests-jitter',
    '500',
    '--graceful-timeout',
    '5',
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, FAULT_DIR: dir },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const lines = [];
  let partial = '';
  child.stderr.on('data', (d) => {
    const text = partial + d;
    const parts = text.split('\n');
    partial = parts.pop();
    for (const line of parts) {
      if (!line.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line));
      } catch {
        // not ours
      }
    }
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  await until('the master to be ready', () => lines.some((l) => l.msg === 'ready'), 30_000);
  return { child, pid: child.pid, lines, exited, since: (n) => lines.slice(n) };
}

/** One GET on a connection of its own; resolves with the body (or '' if the connection died). */
function rawGet(port, path) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n`),
    );
    const chunks = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', () =>
      resolve(parseResponse(Buffer.concat(chunks), { ended: true }).response?.body.toString() ?? ''),
    );
    socket.on('error', () => {});
  });
}

const readyAfter = (m, n, old) =>
  until(
    'a new worker to be ready',
    () => m.since(n).find((l) => l.msg === 'worker ready' && !old.includes(l.workerPid)),
    60_000,
  );

// ---- the faults: each resolves with what the faulty worker held, or null --------------------

const FAULTS = {
  async reload(m) {
    const n = m.lines.length;
    process.kill(m.pid, 'SIGHUP');
    const end = await until(
      'the reload to end',
      () => m.since(n).find((l) => l.msg === 'reload done' || l.msg.startsWith('reload abandoned')),
      WAIT_MS,
    );
    if (end.msg !== 'reload done') throw new Error(`reload: ${end.msg}`);
    return null;
  },
  async kill(m, load, port) {
    const workers = childPids(m.pid);
    const n = m.lines.length;
    for (const pid of workers) process.kill(pid, 'SIGSTOP');
    const at = load.now();
    const victim = workers[Math.floor(random() * workers.length)];
    const held = heldConnections(victim, port);
    process.kill(victim, 'SIGKILL');
    for (const pid of workers) if (pid !== victim) process.kill(pid, 'SIGCONT');
    await readyAfter(m, n, workers);
    return { at, held };
  },
  async spin(m, load, port, dir) {
    const workers = childPids(m.pid);
    const n = m.lines.length;
    void rawGet(port, '/spin');
    const marker = await until('a worker to spin', () => readdirSync(dir).find((f) => f.startsWith('spin-')), WAIT_MS);
    rmSync(join(dir, marker));
    const at = load.now();
    const held = heldConnections(Number(marker.slice(5)), port);
    await readyAfter(m, n, workers);
    return { at, held };
  },
  async throw(m, load, port, dir) {
    const workers = childPids(m.pid);
    const n = m.lines.length;
    const body = await rawGet(port, '/throw?ms=50');
    const victim = Number(body.split(' ')[1]);
    const file = join(dir, `exit-${victim}.json`);
    await until('the worker to exit', () => existsSync(file) && readFileSync(file, 'utf8').endsWith('}'), WAIT_MS);
    const at = load.now();
    const { sockets } = JSON.parse(readFileSync(file, 'utf8'));
    await readyAfter(m, n, workers);
    return { at, held: new Set(sockets.filter((s) => s.localPort === port).map((s) => s.remotePort)) };
  },
};
const CRASHES = ['kill', 'spin', 'throw'];
/**
 * A round's faults, one every 2-4 s: four that end a worker (each kind, then one at random), the
 * rest reloads, in a random order. Four deaths a minute keep the master's respawn back-off (for
 * workers that keep dying: 0.5 s doubling from the second death in a minute) at 2 s or less.
 */
function schedule(count) {
  const crashes = [...CRASHES, CRASHES[Math.floor(random() * CRASHES.length)]].slice(0, count);
  const kinds = [...crashes, ...Array.from({ length: Math.max(0, count - crashes.length) }, () => 'reload')];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  return kinds;
}

// ---- a round ----------------------------------------------------------------------------------

/** The master of the round under way, ended with its workers if the soak itself fails. */
let current = null;
function fail(err) {
  console.error(`soak failed: ${err.stack}`);
  if (current) {
    console.error(
      `the master's last log lines:\n${current.lines
        .slice(-15)
        .map((l) => JSON.stringify(l))
        .join('\n')}`,
    );
    try {
      process.kill(-current.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  process.exit(2);
}
process.on('uncaughtException', fail);

async function round(index, stopWith) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tsws-soak-'));
  const m = (current = await startMaster(port, dir));
  // Clients 0-3 keep their connection busy; 4-5 keep it idle up to 1.5 s between requests; 6-7 open a new one each time.
  const load = startLoad({
    port,
    keepAlive: 6,
    fresh: 2,
    maxMs: roundMs + 60_000,
    path: () => (random() < 0.2 ? '/slow?ms=50' : '/'),
    pauseMs: (client) => (client >= 4 && client < 6 ? Math.floor(random() * 1500) : 1),
    retry: !values['no-retry'],
  });
  const faults = [];
  const counts = { reload: 0, kill: 0, spin: 0, throw: 0 };
  const ends = Date.now() + roundMs;
  for (const kind of schedule(Math.max(1, Math.floor((roundMs - 5000) / 3000)))) {
    if (Date.now() > ends - 5000) break;
    await sleep(2000 + random() * 2000);
    const from = load.now();
    const struck = await FAULTS[kind](m, load, port, dir);
    counts[kind]++;
    if (struck) faults.push({ kind, from, ...struck });
  }
  await sleep(Math.max(0, ends - Date.now()));

  // Stop the master under load; the load stops sending at the same moment.
  const stopAt = load.now();
  process.kill(m.pid, stopWith);
  const result = await load.stop();
  const exit = await m.exited;
  let orphans = [];
  try {
    await until('the workers to leave', () => processGroup(m.pid).every((p) => p.state === 'Z'), 15_000);
  } catch {
    orphans = processGroup(m.pid).filter((p) => p.state !== 'Z');
    for (const p of orphans) process.kill(p.pid, 'SIGKILL');
  }
  const stopped = stopWith === 'SIGTERM' ? exit.code === 0 : exit.signal === 'SIGKILL';
  rmSync(dir, { recursive: true, force: true });

  // Each request that did not get its answer the first time, by why.
  const confined = { kill: 0, spin: 0, throw: 0 };
  const raced = [];
  const lost = [];
  let afterStop = 0;
  for (const f of load.fates) {
    if (f.outcome === 'ok') continue;
    if (f.sent >= stopAt) {
      afterStop++;
      continue;
    }
    const fault = faults.find((F) => F.held.has(f.localPort) && f.opened <= F.at && f.ended >= F.from);
    if (fault) confined[fault.kind]++;
    // A reused keep-alive connection that died before any answer byte, not by a fault: sent again.
    else if (f.retried) raced.push(f);
    else lost.push(f);
  }
  const recycled = m.lines.filter((l) => /^retiring worker \d+ \(max-requests\)$/.test(l.msg)).length;
  return {
    index,
    stopWith,
    stopped,
    orphans: orphans.length,
    result,
    counts,
    recycled,
    confined,
    raced,
    lost,
    afterStop,
    lines: m.lines,
    epoch: load.epoch,
  };
}

// ---- the run ----------------------------------------------------------------------------------

console.log(
  `tsws soak: seed ${seed}, ${minutes} min in rounds of ${roundMs / 1000} s, ${WORKERS} workers, --scheduling ${SCHEDULING}, node ${process.version}`,
);
const started = Date.now();
const totals = {
  rounds: 0,
  requests: 0,
  answered: 0,
  raced: 0,
  afterStop: 0,
  lost: 0,
  orphans: 0,
  badStops: 0,
  faults: { reload: 0, kill: 0, spin: 0, throw: 0, recycle: 0, 'master TERM': 0, 'master KILL': 0 },
  confined: { kill: 0, spin: 0, throw: 0 },
};
for (let i = 0; Date.now() - started < minutes * 60_000; i++) {
  const r = await round(i + 1, i % 2 === 0 ? 'SIGTERM' : 'SIGKILL').catch(fail);
  totals.rounds++;
  totals.requests += r.result.sent;
  totals.answered += r.result.ok;
  totals.raced += r.raced.length;
  totals.afterStop += r.afterStop;
  totals.lost += r.lost.length;
  totals.orphans += r.orphans;
  if (!r.stopped) totals.badStops++;
  for (const k of Object.keys(r.counts)) totals.faults[k] += r.counts[k];
  totals.faults.recycle += r.recycled;
  totals.faults[r.stopWith === 'SIGTERM' ? 'master TERM' : 'master KILL']++;
  for (const k of Object.keys(r.confined)) totals.confined[k] += r.confined[k];
  console.log(
    `round ${r.index} (master ${r.stopWith.slice(3)}${r.stopped ? '' : ': BAD EXIT'}${r.orphans ? `, ${r.orphans} ORPHANS` : ''}): ${r.result.sent} requests, ${r.result.ok} answered; ` +
      `faults ${JSON.stringify({ ...r.counts, recycle: r.recycled })}; failed on the faulty worker's connections ${JSON.stringify(r.confined)}; ` +
      `retried after the keep-alive race ${r.raced.length}; after the stop signal ${r.afterStop}; LOST ${r.lost.length}`,
  );
  for (const [what, f] of [...r.raced.map((f) => ['RETRIED', f]), ...r.lost.map((f) => ['LOST', f])]) {
    console.log(`  ${what} ${describeFate(f)}`);
    // What the master said about that worker, on the load's clock.
    for (const l of r.lines.filter((l) => f.pid !== null && (l.workerPid === f.pid || l.pid === f.pid)))
      console.log(`    ${(l.time - r.epoch).toFixed(0)} ms: ${l.msg}`);
  }
}
const seconds = ((Date.now() - started) / 1000).toFixed(0);
const injected = Object.values(totals.faults).reduce((a, b) => a + b, 0);
console.log(
  `\n${totals.rounds} rounds in ${seconds} s: ${totals.requests} requests sent (retries included), ${totals.answered} answered`,
);
console.log(`faults injected: ${injected} ${JSON.stringify(totals.faults)}`);
console.log(
  `failed on the connections a faulty worker held: ${JSON.stringify(totals.confined)}; sent after the master's stop signal: ${totals.afterStop}`,
);
console.log(
  `sent again after the keep-alive race (a reused connection closed by the server as the request left): ${totals.raced}`,
);
console.log(
  `requests lost: ${totals.lost}; orphaned processes: ${totals.orphans}; masters that did not exit as expected: ${totals.badStops}`,
);
process.exit(totals.lost || totals.orphans || totals.badStops ? 1 : 0);
