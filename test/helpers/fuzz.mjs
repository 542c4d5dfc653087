// A bounded-time fuzzer for the tsws core. It mutates valid requests (bit flips, byte splices
// from other requests, truncations, huge repeats of a byte or a header line, dictionary tokens)
// and sends each, in random splits across writes, to tsws in a child process and to a
// reference: node:http with its strict llhttp (insecureHTTPParser: false) in this process.
//
// A case fails when tsws answers with a 2xx a request the reference's parser did not hand to
// its app whole (same position on the connection), when both took it but saw a different
// request (method, URL, body length and SHA-1), when tsws's output cannot be parsed as
// responses, or when tsws keeps the connection open 10 s after the client's FIN. Rule table
// for where node's answer is policy rather than parsing (see runCase): its 417s and 408s are not judged;
// its 413s (more than 16 KiB of chunk extensions) are judged by tsws's own framing budget; the
// core's own 204 to OPTIONS *, sent on the headers alone, only needs them parsed and must be
// the last answer if the body never completes. The run fails when the tsws process dies, logs
// an error, or after the run holds connections or file descriptors it did not hold before.
//
// Every case derives from (seed, index): TSWS_FUZZ_SEED=<seed> node bench/fuzz/run.mjs --case N
// replays one case and prints its bytes and both answers.
import { fork } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { echoOf } from '../fixtures/fuzz/echo-app.mjs';
import { mulberry32 } from './random.mjs';
import { sleep } from './wait.mjs';
import { parseResponse } from './wire.mjs';

const SERVER = fileURLToPath(new URL('../fixtures/fuzz/server.mjs', import.meta.url));

// The tsws server's options: short timeouts so stalled cases end quickly; limits at defaults
// except the body, kept small so a mutated length is likely to cross it.
export const SERVER_OPTIONS = {
  headerTimeout: 2000,
  bodyTimeout: 2000,
  keepAliveTimeout: 2000,
  limitRequestBody: 64 * 1024,
};
const CASE_TIMEOUT_MS = 10_000;

// ---- randomness ----------------------------------------------------------------------------

/** The seed of case `index` in run `seed`. */
export function caseSeed(seed, index) {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ index, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ---- inputs --------------------------------------------------------------------------------

/** Valid requests to start from. */
export const SEEDS = [
  'GET / HTTP/1.1\r\nHost: a.example\r\n\r\n',
  'GET /path/to?q=1&r=%20 HTTP/1.1\r\nHost: a.example:8080\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n',
  'POST /form HTTP/1.1\r\nHost: a.example\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world',
  'POST /chunked HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n' +
    '5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n',
  'PUT /x HTTP/1.1\r\nHost: a.example\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody',
  'GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
  'GET http://b.example/abs HTTP/1.1\r\nHost: b.example\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n',
  'HEAD /h HTTP/1.1\r\nHost: a.example\r\n\r\n',
  'DELETE /d HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\n\r\n',
  'GET /1 HTTP/1.1\r\nHost: a.example\r\n\r\nGET /2 HTTP/1.1\r\nHost: a.example\r\n\r\n' +
    'POST /3 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n\r\nabc',
  'POST /p HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n\r\nhelloGET /after HTTP/1.1\r\nHost: a.example\r\n\r\n',
  'POST /c HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
    'GET /next HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n',
].map((s) => Buffer.from(s, 'latin1'));

/** Tokens that matter to an HTTP/1.1 parser, inserted or overwritten at random. */
const DICTIONARY = [
  '\r\n',
  '\n',
  '\r',
  '\r\n\r\n',
  ' ',
  '\t',
  '\r\n ',
  '\r\n\t',
  ':',
  ': ',
  ' :',
  ',',
  ';',
  '"',
  '\0',
  '\x0b',
  '\x7f',
  '\x80',
  '\xff',
  '0',
  '1',
  '9',
  'f',
  'F',
  'x',
  '0x',
  '-',
  '+',
  '-1',
  '00',
  'ffffffffffffffff',
  '18446744073709551615',
  '4294967296',
  'chunked',
  'Chunked',
  'identity',
  'gzip',
  ', chunked',
  'chunked, ',
  'xchunked',
  'Transfer-Encoding: chunked\r\n',
  'Transfer-Encoding:\r\n',
  'Transfer-Encoding: gzip, chunked\r\n',
  'Transfer-Encoding : chunked\r\n',
  'Content-Length: 0\r\n',
  'Content-Length: 5\r\n',
  'Content-Length: 100000\r\n',
  'Content-Length: -1\r\n',
  'Content-Length: 5, 5\r\n',
  'Host: b.example\r\n',
  'Host:\r\n',
  'Host: [::1]\r\n',
  'Connection: close\r\n',
  'Connection: keep-alive\r\n',
  'Connection: Upgrade\r\nUpgrade: h2c\r\n',
  'Expect: 100-continue\r\n',
  'Expect: nope\r\n',
  'X-Forwarded-For: 1.2.3.4\r\n',
  'X-Forwarded-Host: evil.example\r\n',
  'HTTP/1.1',
  'HTTP/1.0',
  'HTTP/0.9',
  'HTTP/2.0',
  'HTTP/1.2',
  ' HTTP/1.1\r\n',
  'GET ',
  'POST ',
  'CONNECT ',
  'OPTIONS ',
  '*',
  'http://',
  'http://c.example',
  '0\r\n\r\n',
  '5\r\nhello\r\n',
  '0\r\nX: y\r\n\r\n',
  'GET /smuggled HTTP/1.1\r\nHost: a.example\r\n\r\n',
].map((s) => Buffer.from(s, 'latin1'));

const pick = (r, list) => list[Math.floor(r() * list.length)];
const int = (r, n) => Math.floor(r() * n);

/** One mutation of `input`; returns a new buffer. */
function mutate(r, input) {
  const len = input.length;
  const at = int(r, len + 1);
  switch (int(r, 11)) {
    case 0: {
      // flip 1-4 bits
      const out = Buffer.from(input);
      for (let i = 1 + int(r, 4); i > 0 && len; i--) out[int(r, len)] ^= 1 << int(r, 8);
      return out;
    }
    case 1: {
      // overwrite one byte with a dictionary byte or any byte
      if (!len) return input;
      const out = Buffer.from(input);
      out[int(r, len)] = r() < 0.5 ? pick(r, DICTIONARY)[0] : int(r, 256);
      return out;
    }
    case 2:
    case 3:
      // insert a dictionary token
      return Buffer.concat([input.subarray(0, at), pick(r, DICTIONARY), input.subarray(at)]);
    case 4: {
      // overwrite with a dictionary token
      const token = pick(r, DICTIONARY);
      return Buffer.concat([input.subarray(0, at), token, input.subarray(Math.min(len, at + token.length))]);
    }
    case 5: {
      // delete a range
      const n = 1 + int(r, 8);
      return Buffer.concat([input.subarray(0, at), input.subarray(Math.min(len, at + n))]);
    }
    case 6: {
      // splice in bytes from another request
      const other = pick(r, SEEDS);
      const from = int(r, other.length);
      const n = 1 + int(r, other.length - from);
      const replace = r() < 0.5 ? n : 0;
      return Buffer.concat([
        input.subarray(0, at),
        other.subarray(from, from + n),
        input.subarray(Math.min(len, at + replace)),
      ]);
    }
    case 7:
      // truncate
      return input.subarray(0, at);
    case 8: {
      // a huge run of one byte
      const n = pick(r, [100, 1000, 8200, 20_000, 70_000, 300_000]);
      const byte = r() < 0.5 ? pick(r, DICTIONARY)[0] : pick(r, [0x41, 0x20, 0x30, 0x0d, 0x0a, 0x3a]);
      return Buffer.concat([input.subarray(0, at), Buffer.alloc(n, byte), input.subarray(at)]);
    }
    case 9: {
      // a header line repeated many times, after the request line
      const eol = input.indexOf('\r\n');
      if (eol < 0) return input;
      const n = pick(r, [50, 101, 1000, 5000]);
      const header = Buffer.from(
        r() < 0.5
          ? 'X-Repeat: yes\r\n'
          : pick(r, ['Host: a.example\r\n', 'Content-Length: 1\r\n', 'Transfer-Encoding: chunked\r\n']),
        'latin1',
      );
      return Buffer.concat([input.subarray(0, eol + 2), Buffer.concat(Array(n).fill(header)), input.subarray(eol + 2)]);
    }
    default: {
      // duplicate or drop a line
      const lines = [];
      let start = 0;
      for (let i = input.indexOf('\n'); i >= 0; i = input.indexOf('\n', start)) {
        lines.push(input.subarray(start, i + 1));
        start = i + 1;
      }
      lines.push(input.subarray(start));
      const i = int(r, lines.length);
      if (r() < 0.5) lines.splice(i, 0, lines[i]);
      else lines.splice(i, 1);
      return Buffer.concat(lines);
    }
  }
}

/** The bytes of case `seed` and the sizes of its writes. */
export function makeCase(seed) {
  const r = mulberry32(seed);
  let bytes = pick(r, SEEDS);
  for (let n = 1 + int(r, 4); n > 0; n--) bytes = mutate(r, bytes);
  const writes = [];
  let left = bytes.length;
  const pieces = r() < 0.3 ? 1 : 2 + int(r, 8);
  while (left > 0) {
    const size =
      writes.length === pieces - 1
        ? left
        : Math.max(1, Math.min(left, 65536, int(r, Math.ceil((2 * bytes.length) / pieces))));
    writes.push(size);
    left -= size;
  }
  return { bytes, writes };
}

// ---- the wire ------------------------------------------------------------------------------

/**
 * Parses what a server sent back, until it closed, into responses (skipping 1xx). `x-method: HEAD`
 * marks an answer to HEAD, which has no body whatever its Content-Length says.
 */
export function parseResponses(buf) {
  const out = [];
  const head = (headers) => headers.some(([name, value]) => name === 'x-method' && value === 'HEAD');
  for (let pos = 0; pos < buf.length; ) {
    const parsed = parseResponse(buf.subarray(pos), { head, ended: true });
    if (parsed.error) return { responses: out, error: parsed.error };
    const { version, status, headers, body } = parsed.response;
    if (version !== 'HTTP/1.1') return { responses: out, error: `not HTTP/1.1: ${version}` };
    pos += parsed.size;
    if (status >= 200) out.push({ status, headers: new Map(headers), body });
  }
  return { responses: out, error: null };
}

/** Sends `bytes` in `writes`, half-closes, and collects the answer until the server closes. */
function exchange(port, bytes, writes, onConnect = () => {}) {
  return new Promise((resolve) => {
    const chunks = [];
    let reset = false;
    let settled = false;
    let localPort = 0;
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    const timer = setTimeout(() => finish(true), CASE_TIMEOUT_MS);
    function finish(timedOut) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), reset, timedOut, localPort });
    }
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {
      reset = true;
    });
    socket.on('close', () => finish(false));
    socket.on('connect', async () => {
      localPort = socket.localPort;
      onConnect(localPort);
      let at = 0;
      for (const size of writes) {
        if (socket.destroyed || socket.writableEnded) return;
        socket.write(bytes.subarray(at, at + size));
        at += size;
        await new Promise((r) => setImmediate(r));
      }
      if (!socket.destroyed) socket.end();
    });
  });
}

// ---- the reference -------------------------------------------------------------------------

/**
 * node:http in strict mode, answering like the echo app. What counts is what its parser handed
 * to the app: `seen(clientPort)` lists each request taken whole on that connection. (Its
 * answers are no guide: a parse error later in the same read replaces answers not yet sent.)
 */
export async function startReference() {
  const seenBy = new Map();
  const server = http.createServer(
    // Its timeouts are long: this process is busy driving the cases, and a reference that times
    // out a request it would have taken (408) says nothing about parsing. Its total header cap
    // is raised past anything tsws's per-field limits allow (100 x 8190): node's 16 KiB total is
    // a size policy, not framing.
    {
      insecureHTTPParser: false,
      maxHeaderSize: 1 << 20,
      headersTimeout: 8000,
      requestTimeout: 9000,
      keepAliveTimeout: SERVER_OPTIONS.keepAliveTimeout,
    },
    (req, res) => {
      const chunks = [];
      const port = req.socket.remotePort;
      const seen = seenBy.get(port) ?? [];
      seenBy.set(port, seen);
      const entry = { complete: false, echo: null };
      seen.push(entry);
      // What node's parser framed is recorded as it pushes into the request, not at 'end': node
      // drops a finished request whose socket errors on the next one in the same read, and
      // 'end' then never comes though the parser took the whole message.
      const push = req.push;
      req.push = function (chunk, encoding) {
        if (chunk === null) {
          entry.complete = true;
          entry.echo = JSON.parse(echoOf(req.method, req.url, Buffer.concat(chunks)));
        } else chunks.push(Buffer.from(chunk));
        return push.call(this, chunk, encoding);
      };
      req.on('error', () => res.destroy());
      req.resume();
      req.on('end', () => {
        const json = JSON.stringify(entry.echo);
        res.writeHead(200, {
          'content-type': 'application/json',
          'x-method': req.method,
          'content-length': Buffer.byteLength(json),
        });
        res.end(json);
      });
    },
  );
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Client ports are reused across a long run: a connection's list is cleared when it connects
  // and taken as soon as it closes, before another case can connect from the same port.
  const seen = (port) => {
    const list = seenBy.get(port) ?? [];
    seenBy.delete(port);
    return list;
  };
  return {
    server,
    port: server.address().port,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

// ---- the tsws child ------------------------------------------------------------------------

/** Starts tsws (test/fixtures/fuzz/server.mjs) in a child process with `options`. */
export async function startChild(options = SERVER_OPTIONS) {
  const child = fork(SERVER, [JSON.stringify(options)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const logs = [];
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d) => {
    stderr += d;
    let nl;
    while ((nl = stderr.indexOf('\n')) >= 0) {
      const line = stderr.slice(0, nl);
      stderr = stderr.slice(nl + 1);
      if (line.startsWith('tsws-log ')) logs.push(JSON.parse(line.slice(9)));
      else if (line.trim()) logs.push({ level: 'stderr', msg: line });
    }
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    exited.then((e) => reject(new Error(`tsws child exited before listening: ${JSON.stringify(e)} ${stderr}`)));
  });
  let dead = null;
  exited.then((e) => (dead = e));
  return {
    child,
    pid: ready.pid,
    port: ready.port,
    logs,
    exited,
    dead: () => dead,
    stats: () =>
      new Promise((resolve, reject) => {
        if (dead) return reject(new Error(`tsws child is dead: ${JSON.stringify(dead)}`));
        const onMessage = (m) => {
          if (m?.stats) {
            child.off('message', onMessage);
            resolve(m.stats);
          }
        };
        child.on('message', onMessage);
        child.send('stats');
      }),
    stop: async () => {
      if (!dead) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

// ---- one case ------------------------------------------------------------------------------

const is2xx = (s) => s >= 200 && s < 300;
const show = (buf) =>
  JSON.stringify(buf.subarray(0, 600).toString('latin1')) + (buf.length > 600 ? ` (+${buf.length - 600} bytes)` : '');

/** Runs case `seed` against tsws and the reference; returns { outcome, statuses, failure? }. */
export async function runCase(seed, tswsPort, reference) {
  const { bytes, writes } = makeCase(seed);
  const [ours, [ref, taken]] = await Promise.all([
    exchange(tswsPort, bytes, writes),
    exchange(reference.port, bytes, writes, (port) => reference.seen(port)).then((r) => [
      r,
      reference.seen(r.localPort),
    ]),
  ]);
  const mine = parseResponses(ours.data);
  const theirs = parseResponses(ref.data).responses;
  const statuses = mine.responses.map((r) => r.status);
  const outcome =
    statuses.length === 0
      ? ours.reset
        ? 'reset, no answer'
        : 'closed, no answer'
      : statuses.every(is2xx)
        ? '2xx only'
        : statuses.some(is2xx)
          ? '2xx then refused'
          : `refused ${statuses[0]}`;
  const fail = (why) => ({
    outcome,
    statuses,
    failure: [
      why,
      `  case seed ${seed}; ${bytes.length} bytes in writes of [${writes.join(', ')}]:`,
      `  sent: ${show(bytes)}`,
      `  tsws: ${show(ours.data)}`,
      `  node: ${show(ref.data)}`,
      `  node's app saw: ${JSON.stringify(taken)}`,
    ].join('\n'),
  });
  if (ours.timedOut) return fail(`tsws kept the connection open ${CASE_TIMEOUT_MS} ms after the client's FIN`);
  if (mine.error && !ours.reset) return fail(`tsws's output does not parse: ${mine.error}`);
  for (let i = 0; i < mine.responses.length; i++) {
    const a = mine.responses[i];
    if (!is2xx(a.status)) continue;
    // node answers 417 to any Expect but 100-continue, even an empty one, which tsws reads as
    // an empty list (RFC 9110 §5.6.1, §10.1.1: 417 is a MAY). Policy, not framing: not judged.
    // Nor is a 408: the reference ran out of time, it did not refuse.
    if (theirs[i]?.status === 417 || theirs[i]?.status === 408) continue;
    const b = taken[i];
    if (b === undefined)
      return fail(`tsws answered request ${i + 1} with ${a.status}; the reference's parser refused it`);
    if (!a.headers.has('x-method')) {
      // The core's own answer (204 to OPTIONS *) goes out on the headers alone. If the body then
      // proves bad or never ends, nothing after it may be answered as a request.
      if (!b.complete && i !== mine.responses.length - 1) {
        return fail(`tsws answered request ${i + 1} with ${a.status} before its unfinished body, then answered more`);
      }
      continue;
    }
    if (!b.complete && theirs[i]?.status === 413) {
      // node refuses more than 16 KiB of chunk extensions per request (413). tsws's own budget
      // is limitRequestFieldSize + 16 bytes per body byte, counted by whole reads: held to that,
      // with two reads (128 KiB) of slack and 8 KiB for the head.
      const n = a.headers.get('x-method') === 'HEAD' ? 0 : JSON.parse(a.body.toString('latin1')).n;
      if (bytes.length > 8190 + 16 * n + 131072 + 8192)
        return fail(`tsws took ${bytes.length} bytes of chunked request, past its framing budget`);
      continue;
    }
    if (!b.complete)
      return fail(
        `tsws answered request ${i + 1} with ${a.status}; the reference's parser did not take its whole body`,
      );
    if (a.headers.get('x-method') === 'HEAD') {
      if (b.echo.m !== 'HEAD') return fail(`request ${i + 1} was a HEAD to tsws, a ${b.echo.m} to the reference`);
    } else if (a.headers.has('x-method')) {
      let x;
      try {
        x = JSON.parse(a.body.toString('latin1'));
      } catch {
        return fail(`tsws's echo of request ${i + 1} is not JSON`);
      }
      const y = b.echo;
      if (x.m !== y.m || x.n !== y.n || x.h !== y.h || !x.u.endsWith(y.u)) {
        return fail(`request ${i + 1} was seen differently: tsws ${JSON.stringify(x)}, reference ${JSON.stringify(y)}`);
      }
    }
  }
  return { outcome, statuses };
}

// ---- a run ---------------------------------------------------------------------------------

/**
 * Runs cases for `seconds` with `concurrency` connections in flight, then checks the tsws
 * process for leaks. Returns the figures; `failures` is empty when all went well.
 */
export async function runFuzz({ seconds, seed, concurrency = 16, log = () => {}, maxFailures = 10 }) {
  const child = await startChild();
  const reference = await startReference();
  const figures = { seed, seconds, sent: 0, bytes: 0, outcomes: {}, statuses: {}, failures: [], leaks: null };
  try {
    // Warm up, then take the baseline with nothing open.
    await runCase(caseSeed(seed, 0), child.port, reference);
    const baseline = await settle(child);
    const started = Date.now();
    const deadline = started + seconds * 1000;
    let next = 1;
    let lastReport = started;
    const worker = async () => {
      while (Date.now() < deadline && figures.failures.length < maxFailures && !child.dead()) {
        const index = next++;
        const s = caseSeed(seed, index);
        const { bytes } = makeCase(s);
        const result = await runCase(s, child.port, reference);
        figures.sent++;
        figures.bytes += bytes.length;
        figures.outcomes[result.outcome] = (figures.outcomes[result.outcome] ?? 0) + 1;
        for (const status of result.statuses) figures.statuses[status] = (figures.statuses[status] ?? 0) + 1;
        if (result.failure) {
          figures.failures.push(`case ${index}: ${result.failure}`);
          const replay = `TSWS_FUZZ_SEED=${seed} node bench/fuzz/run.mjs --case ${index}`;
          log(`FAIL case ${index} (replay: ${replay})\n${result.failure}`);
        }
        if (Date.now() - lastReport > 30_000) {
          lastReport = Date.now();
          const stats = await child.stats().catch(() => null);
          const rss = stats
            ? `${(stats.rss / 1e6).toFixed(0)} MB RSS, ${stats.fds} fds, ${stats.connections} connections open`
            : 'stats unavailable';
          const elapsed = Math.round((lastReport - started) / 1000);
          log(`${elapsed} s: ${figures.sent} cases, ${figures.failures.length} failures; tsws ${rss}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    figures.elapsedMs = Date.now() - started;
    const dead = child.dead();
    if (dead) {
      figures.failures.push(
        `the tsws process died: ${JSON.stringify(dead)}; last log lines: ${JSON.stringify(child.logs.slice(-5))}`,
      );
      return figures;
    }
    const after = await settle(child);
    figures.leaks = { baseline, after };
    if (after.connections !== 0)
      figures.failures.push(`tsws still holds ${after.connections} connections after the run`);
    if (after.fds > baseline.fds)
      figures.failures.push(`tsws holds ${after.fds} file descriptors after the run, ${baseline.fds} before`);
    const errors = child.logs.filter((l) => l.level === 'error' || l.level === 'stderr');
    if (errors.length)
      figures.failures.push(`tsws logged ${errors.length} errors, e.g. ${JSON.stringify(errors.slice(0, 3))}`);
    return figures;
  } finally {
    await reference.close();
    await child.stop();
  }
}

/** Waits (up to 10 s) for the child to hold no connections, then returns its stats. */
async function settle(child) {
  const deadline = Date.now() + 10_000;
  let stats = await child.stats();
  while (stats.connections > 0 && Date.now() < deadline) {
    await sleep(100);
    stats = await child.stats();
  }
  return stats;
}
