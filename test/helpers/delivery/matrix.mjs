// The delivery matrix: body kinds x framings x readers x sizes, through our servers, each case
// judged as a user would judge a download: every byte with a matching hash on a connection left
// as the framing says; or, for a reader that stalls, a cut that comes only after --body-timeout
// and leaves one warn line naming the request. The tests run a bounded selection
// (test/delivery/matrix.test.ts); `pnpm delivery` (run.mjs) runs all of it.
import { createHash } from 'node:crypto';
import { expectedBody, KINDS, payloadFile } from './bodies.mjs';
import { download, FRAMINGS } from './client.mjs';

export { SERVERS, startServer } from './servers.mjs';

/**
 * Writes the files that file-backed Blobs of these sizes read into `dir` (the servers' TSWS_DELIVERY_DIR)
 * beforehand: written on a first request instead, 32 MiB of synchronous writing would block the
 * server's loop, and every other download it serves would look stalled meanwhile.
 */
export function prepareFiles(dir, sizes) {
  for (const size of sizes) payloadFile(size, dir);
}

export const KIND_NAMES = Object.keys(KINDS);
export const FRAMING_NAMES = Object.keys(FRAMINGS);
export const MIB = 1024 * 1024;

/**
 * The log line a cut leaves (the core's since bddd60a; the node class writes the same). Its
 * `request` names the request line, so a case finds its own among others.
 */
export const CUT_MESSAGE = 'cut a client that stopped reading its response';

/** What a slow reader reads a second: a slow mobile link. */
export const SLOW_RATE = 256 * 1024;

/**
 * The --body-timeout (seconds) under which a reader at SLOW_RATE is steady. The server sees a
 * slow reader's progress only when the kernel takes more output, and Linux wakes a blocked
 * writer only once a third of the send buffer (4 MiB on loopback here) is free: ~1.4 MB, every
 * ~5.4 s at 256 KiB/s (measured). A shorter timeout cuts such a reader as stalled, by design
 * (nginx's send_timeout sees the same), so the slow cases run with a timeout above that step.
 */
export const SLOW_BODY_TIMEOUT = 8;

/**
 * The --body-timeout (seconds) for readers that keep up: short enough that a deadline counting
 * the whole download (the defect of issue 9) cuts a 32 MiB body, long enough that a loaded
 * machine pausing the client (hashing, decoding a 32 MiB form) or the server (serialising one)
 * for a second or two is not taken for a stall.
 */
export const FAST_BODY_TIMEOUT = 5;

/**
 * The --body-timeout (seconds) for stalled readers: short, so the cut comes quickly, yet above
 * the half-second ticks the core checks deadlines on and the pauses of a loaded machine.
 */
export const STALL_BODY_TIMEOUT = 2;
/** A stalled reader reads this much of the body first. */
const STALL_AFTER = 4 * MIB;
/**
 * A stalled reader stops for --body-timeout and this much more. A server judges no stall while
 * its loop is blocked (it cannot see what the client read meanwhile), and bodies that Response
 * serialises synchronously (URLSearchParams at 32 MiB: 0.7 s each, alone) held a loaded server's
 * loop for seconds in the full matrix: with 4 s more, fileBlob readers stalled beside them were
 * not cut before they read on (measured; alone they were).
 */
const STALL_GRACE_MS = 8000;

/**
 * The --keep-alive (seconds) for slow readers: idle time counts from when the last byte reached
 * the kernel (as in node:http and nginx), and a slow reader takes ~20 s to read what loopback's
 * buffers hold; with the default 5 s its kept connection would close before it asks again.
 */
export const SLOW_KEEP_ALIVE = 60;

let caseNumber = 0;

/**
 * Runs one case against a started server and judges it. `reader`: 'fast', 'slow' (at `rate`
 * bytes a second, SLOW_RATE unless given) or 'stalled'; `bodyTimeout`: the server's, in seconds.
 * Resolves with `{ ok, problem, result }`.
 */
export async function runCase(server, { kind, framing, reader, size, bodyTimeout, rate = SLOW_RATE }) {
  // A query parameter the app ignores tells this case's log line from the others'.
  const path = `/body/${kind}?size=${size}&case=${++caseNumber}`;
  const stallForMs = bodyTimeout * 1000 + STALL_GRACE_MS;
  const readers = {
    fast: { kind: 'fast' },
    slow: { kind: 'slow', rate },
    // A few MiB in, so the server has seen the kernel take output lately (see SLOW_BODY_TIMEOUT),
    // then nothing for well past the timeout.
    stalled: { kind: 'stall', after: STALL_AFTER, forMs: stallForMs },
  };
  const decode = KINDS[kind].decode;
  const result = await download({
    port: server.port,
    path,
    framing,
    reader: readers[reader],
    keepBody: decode !== undefined,
    timeoutMs: Math.max(60_000, ((size / rate) * 1000 + stallForMs) * 2),
  });
  const expected = expectedBody(kind, size);
  const problem =
    reader === 'stalled' ? judgeCut(server, path, result, bodyTimeout, expected.length) : await judgeWhole(result);
  return { ok: problem === null, problem, result };

  async function judgeWhole(r) {
    if (r.status !== 200) return `status ${r.status} (${r.end}${r.error ? `: ${r.error}` : ''})`;
    const how = `${r.framing}, ${r.end}${r.error ? `: ${r.error}` : ''}, ${r.ms} ms`;
    if (!r.complete) return `${r.bodyBytes} body bytes, then the connection ended (${how})`;
    let digest = r.sha256;
    if (decode !== undefined) {
      try {
        digest = createHash('sha256')
          .update(await decode(r.body, r.headers['content-type']))
          .digest('hex');
      } catch (err) {
        return `${r.bodyBytes} body bytes that do not decode: ${err.message} (${how})`;
      }
    }
    if (digest !== expected.digest) return `${r.bodyBytes} body bytes with the wrong hash (${how})`;
    if (framing === 'keep-alive' && !r.reused)
      return `the connection was not usable for a next request (${r.end}${r.error ? `: ${r.error}` : ''})`;
    if (framing !== 'keep-alive' && r.end !== 'eof') return `the connection ended by ${r.end}, not a close`;
    const own = cutLines(server, path);
    if (own.length) return `whole, but logged as cut: ${JSON.stringify(own[0])}`;
    return null;
  }
}

/** The cut lines a server logged for `path`. */
function cutLines(server, path) {
  return server.warnings().filter((l) => l.msg === CUT_MESSAGE && String(l.request).includes(` ${path} `));
}

/**
 * How early, at most, a cut may come before --body-timeout has passed since the client's last
 * read. The server sees a client read only when the kernel takes more output; it looks for that
 * once a second, on the core's half-second ticks, and stamps a move with that coarse clock (see
 * the report on issue 9): a client that read from the kernel's buffers just before it stalled
 * may be judged from a moment earlier.
 */
const CUT_EARLY_MS = 1000;

/** A stalled reader: cut, not before the timeout (less CUT_EARLY_MS), and one warn line. */
function judgeCut(server, path, r, bodyTimeout, length) {
  if (r.status !== 200) return `status ${r.status} (${r.end})`;
  if (r.stalledAt === null) return `never stalled: the body ended after ${r.bodyBytes} bytes`;
  if (r.bodyBytes >= length) return `not cut: all ${r.bodyBytes} bytes arrived after the stall`;
  const lines = cutLines(server, path);
  if (lines.length !== 1) return `cut after ${r.bodyBytes} bytes with ${lines.length} warn lines for it (want 1)`;
  const cutAfterMs = lines[0].time - r.stalledAt;
  if (cutAfterMs < bodyTimeout * 1000 - CUT_EARLY_MS)
    return `cut ${cutAfterMs} ms into the stall, before the ${bodyTimeout} s timeout`;
  return null;
}
