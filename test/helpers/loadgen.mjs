// A load generator that records the fate of every request, for the fault tests (test/faults/)
// and the soak (bench/soak/run.mjs). Clients on 127.0.0.1 only, bounded in time and count:
// `keepAlive` clients each keep one connection and send request after request on it (a new
// connection only when the server closed the last one, as a browser or undici would), and `fresh`
// clients open a new connection per request (`Connection: close`); each client waits `pauseMs`
// between requests (0: none; or a function of the client and the request number), which leaves
// CPU for the processes under test on a small machine, or keeps a keep-alive connection idle for a
// while. Plain HTTP/1.1 over net.Socket, so each fate knows exactly what happened on the wire:
// refused at connect, no response byte before the connection died (on a new or a reused
// connection), a response cut short, a wrong answer.
//
// Retrying is off by default. With `retry: true`, a GET on a reused keep-alive connection that
// died before any response byte is sent again once on a new connection (undici and browsers do
// this: the server may close an idle connection just as the request leaves); the first fate is
// kept, marked `retried`, and the summary counts retries apart from failures.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { sleep } from './wait.mjs';
import { parseHead } from './wire.mjs';

/** Outcomes other than `ok`, in the summary's order. */
export const FAILURES = [
  'refused',
  'connect-failed',
  'no-response',
  'cut',
  'timeout',
  'status',
  'bad-body',
  'bad-response',
];

/**
 * Starts the load. `path(client, n)` chooses each request's target (default `/`); a 200 whose body
 * does not match `expect` (default: a word and a pid, `ok 4242`) is a `bad-body`. Returns a handle:
 * `stop()` ends the load (each client finishes the request it is on) and resolves with the result.
 */
export function startLoad(options) {
  const {
    port,
    host = '127.0.0.1',
    keepAlive = 4,
    fresh = 2,
    path = () => '/',
    expect = /^\w+ (\d+)$/,
    maxMs = 30_000,
    maxRequests = 200_000,
    timeoutMs = 10_000,
    retry = false,
    headers = {},
    pauseMs = 0,
  } = options;
  if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost')
    throw new Error(`loadgen: loopback only, not ${host}`);
  const t0 = performance.now();
  const epoch = Date.now();
  const fates = [];
  let answered = 0;
  let connections = 0;
  let stopping = false;
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const deadline = setTimeout(() => (stopping = true), maxMs);
  const now = () => performance.now() - t0;

  /** Opens a connection; resolves with it, or with the error. */
  const open = () =>
    new Promise((resolve) => {
      const socket = net.connect({ port, host, noDelay: true });
      const timer = setTimeout(
        () => socket.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })),
        timeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        const conn = {
          id: ++connections,
          socket,
          localPort: socket.localPort,
          opened: now(),
          lastAnswer: 0,
          served: 0,
          dead: false,
          pid: null,
        };
        // The server closed it between our requests: a client sees that and opens another.
        socket.on('end', () => (conn.dead = true));
        socket.on('close', () => (conn.dead = true));
        socket.on('error', () => (conn.dead = true));
        resolve(conn);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        resolve(err);
      });
    });

  /** Sends one GET on `conn` and reads its answer; resolves with the fate (never rejects). */
  const exchange = (conn, target, close) =>
    new Promise((resolve) => {
      const sent = now();
      const fate = {
        conn: conn.id,
        localPort: conn.localPort,
        opened: conn.opened,
        reused: conn.served > 0,
        idle: conn.served > 0 ? sent - conn.lastAnswer : 0,
        path: target,
        sent,
        ended: 0,
        outcome: 'ok',
        detail: '',
        status: 0,
        pid: conn.pid,
      };
      const { socket } = conn;
      let buf = Buffer.alloc(0);
      let need = -1;
      let headSize = -1;
      let closeAfter = close;
      let settled = false;
      const finish = (outcome, detail = '') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('error', onError);
        fate.ended = now();
        fate.outcome = outcome;
        fate.detail = detail;
        if (outcome !== 'ok' || closeAfter) {
          conn.dead = true;
          socket.destroy();
        }
        resolve(fate);
      };
      const onData = (chunk) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        if (headSize < 0) {
          const head = parseHead(buf);
          if (head === null) return;
          if (head.error) return finish('bad-response', head.error);
          headSize = head.size;
          fate.status = head.status;
          for (const [name, value] of head.headers) {
            if (name === 'content-length') need = Number(value);
            else if (name === 'connection' && value.toLowerCase() === 'close') closeAfter = true;
          }
          if (need < 0) return finish('bad-response', 'no Content-Length');
        }
        const have = buf.length - headSize;
        if (have < need) return;
        if (have > need) return finish('bad-response', `${have - need} bytes past the body`);
        const body = buf.subarray(headSize).toString('utf8');
        if (fate.status !== 200) return finish('status', `${fate.status} ${body.slice(0, 100)}`);
        const match = expect.exec(body);
        if (!match) return finish('bad-body', body.slice(0, 100));
        if (match[1] !== undefined) fate.pid = conn.pid = Number(match[1]);
        conn.served++;
        finish('ok');
        conn.lastAnswer = fate.ended;
      };
      const onEnd = () =>
        finish(buf.length ? 'cut' : 'no-response', buf.length ? `${buf.length} bytes then EOF` : 'EOF');
      const onError = (err) =>
        finish(
          buf.length ? 'cut' : 'no-response',
          `${err.code ?? err.message}${buf.length ? ` after ${buf.length} bytes` : ''}`,
        );
      const timer = setTimeout(
        () => finish('timeout', `no full answer in ${timeoutMs} ms (${buf.length} bytes)`),
        timeoutMs,
      );
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('error', onError);
      socket.write(
        `GET ${target} HTTP/1.1\r\nHost: ${host}:${port}\r\n${extra}${close ? 'Connection: close\r\n' : ''}\r\n`,
      );
    });

  const connectFate = (err, target) => {
    const t = now();
    const code = err.code ?? err.message;
    return {
      conn: 0,
      localPort: 0,
      opened: t,
      reused: false,
      path: target,
      sent: t,
      ended: t,
      outcome: code === 'ECONNREFUSED' ? 'refused' : 'connect-failed',
      detail: code,
      status: 0,
      pid: null,
    };
  };

  /** One request, from connecting if needed to the answer; retried once when allowed. */
  const request = async (client, conn, target, close) => {
    if (!conn || conn.dead) {
      const opened = await open();
      if (opened instanceof Error) {
        fates.push(connectFate(opened, target));
        // Refused: do not spin on a port nobody listens on.
        await sleep(20);
        return null;
      }
      conn = opened;
    }
    const fate = await exchange(conn, target, close);
    fate.client = client;
    fates.push(fate);
    if (fate.outcome === 'ok') answered++;
    if (retry && fate.outcome === 'no-response' && fate.reused) {
      fate.retried = true;
      return request(client, null, target, close);
    }
    return conn.dead ? null : conn;
  };

  const clients = [];
  for (let c = 0; c < keepAlive + fresh; c++) {
    const persistent = c < keepAlive;
    clients.push(
      (async () => {
        let conn = null;
        for (let n = 0; !stopping && fates.length < maxRequests; n++) {
          conn = await request(c, persistent ? conn : null, path(c, n), !persistent);
          const pause = typeof pauseMs === 'function' ? pauseMs(c, n) : pauseMs;
          if (pause > 0) await sleep(pause);
        }
        conn?.socket.destroy();
      })(),
    );
  }
  const done = Promise.all(clients).then(() => {
    clearTimeout(deadline);
    return summarise(fates, now());
  });

  return {
    fates,
    /** Milliseconds since the load began (the clock the fates' `sent` and `ended` use). */
    now,
    /** Date.now() when the load began: the load's clock against log lines' `time`. */
    epoch,
    /** Resolves once `n` more requests have been answered correctly. */
    async answered(n) {
      const target = answered + n;
      while (!stopping && answered < target) await sleep(20);
    },
    stop() {
      stopping = true;
      return done;
    },
    done,
  };
}

/** Counts: requests sent, answered, each failure kind, retries, connections refused. */
export function summarise(fates, elapsedMs) {
  const counts = Object.fromEntries(['ok', ...FAILURES].map((k) => [k, 0]));
  let retried = 0;
  for (const f of fates) {
    if (f.retried) retried++;
    else counts[f.outcome]++;
  }
  const failed = fates.filter((f) => f.outcome !== 'ok' && !f.retried);
  return { sent: fates.length, ok: counts.ok, failed: failed.length, retried, counts, elapsedMs, failures: failed };
}

/** One line per fate, for failure messages. */
export function describeFate(f) {
  const conn = f.reused ? `reused after ${f.idle.toFixed(0)} ms idle` : 'new';
  const what = `${f.outcome}${f.detail ? ` (${f.detail})` : ''}: GET ${f.path} from client ${f.client ?? '-'}`;
  const worker = f.pid ? `, worker ${f.pid}` : '';
  const where = `client port ${f.localPort}, opened at ${f.opened.toFixed(0)} ms, ${conn}${worker}`;
  return `${what} on connection ${f.conn} (${where}) at ${f.sent.toFixed(0)}-${f.ended.toFixed(0)} ms`;
}
