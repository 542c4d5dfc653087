// One download for the delivery matrix over a raw socket: the request framed as asked
// (keep-alive, Connection: close, HTTP/1.0), the body read fast, slowly at a steady rate, or
// stalled for a while, and decoded (Content-Length, chunked, or until the server closes) and
// hashed as it arrives, so a 32 MiB body costs the client no 32 MiB.
import { createHash } from 'node:crypto';
import net from 'node:net';

export const FRAMINGS = {
  'keep-alive': (path) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
  close: (path) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
  http10: (path) => `GET ${path} HTTP/1.0\r\n\r\n`,
};

/** A slow reader never pauses longer than this at a time (a steady reader, not a stalled one). */
const MAX_PAUSE_MS = 70;
/** Each read takes at most this much, so a slow reader at 256 KiB/s pauses ~60 ms between reads. */
const READ_SIZE = 16 * 1024;

/**
 * Decodes a response body as it arrives: `push(bytes)` returns the bytes after the body once it
 * is complete (null until then); `onBody` gets the body's bytes.
 */
function bodyDecoder(mode, length, onBody) {
  let left = length;
  // chunked: 'size' line, 'data' of `left` bytes, its 'crlf', then 'trailers' to an empty line
  let state = 'size';
  let line = Buffer.alloc(0);
  return (bytes) => {
    if (mode === 'close-delimited') {
      onBody(bytes);
      return null;
    }
    if (mode === 'content-length') {
      const take = Math.min(left, bytes.length);
      if (take) onBody(bytes.subarray(0, take));
      left -= take;
      return left === 0 ? bytes.subarray(take) : null;
    }
    let at = 0;
    while (at < bytes.length) {
      if (state === 'data') {
        const take = Math.min(left, bytes.length - at);
        onBody(bytes.subarray(at, at + take));
        at += take;
        left -= take;
        if (left === 0) state = 'crlf';
        continue;
      }
      // A framing line, perhaps split across reads: up to its LF.
      const lf = bytes.indexOf(0x0a, at);
      if (lf < 0) {
        line = Buffer.concat([line, bytes.subarray(at)]);
        return null;
      }
      const whole = Buffer.concat([line, bytes.subarray(at, lf)]);
      line = Buffer.alloc(0);
      at = lf + 1;
      if (whole.at(-1) !== 0x0d) throw new Error('a chunked framing line ends in a bare LF');
      if (takeLine(whole.subarray(0, -1))) return bytes.subarray(at);
    }
    return null;
  };

  /** One line of chunked framing; true when it ends the body. */
  function takeLine(text) {
    if (state === 'size') {
      left = Number.parseInt(text.toString('latin1').split(';')[0], 16);
      if (!Number.isInteger(left) || left < 0) throw new Error(`bad chunk size line ${JSON.stringify(String(text))}`);
      state = left === 0 ? 'trailers' : 'data';
      return false;
    }
    if (state === 'crlf') {
      if (text.length) throw new Error('no CRLF after a chunk');
      state = 'size';
      return false;
    }
    return text.length === 0; // trailers end at an empty line
  }
}

/**
 * Reads one response: `onHead({ status, headers, framing })` once the head is in, then the body
 * to `onBody`. `push(bytes)` returns what follows the response once it is whole, else null.
 */
function responseParser(onHead, onBody) {
  let head = Buffer.alloc(0);
  let decode = null;
  return (data) => {
    if (decode === null) {
      head = Buffer.concat([head, data]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const headers = {};
      for (const l of lines.slice(1)) {
        const colon = l.indexOf(':');
        headers[l.slice(0, colon).trim().toLowerCase()] = l.slice(colon + 1).trim();
      }
      const framing = /chunked/i.test(headers['transfer-encoding'] ?? '')
        ? 'chunked'
        : headers['content-length'] !== undefined
          ? 'content-length'
          : 'close-delimited';
      onHead({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? 0), headers, framing });
      decode = bodyDecoder(framing, Number(headers['content-length']), onBody);
      data = head.subarray(end + 4);
    }
    return decode(data);
  };
}

/**
 * Downloads `path` from 127.0.0.1:`port`. `reader`: `{ kind: 'fast' }`, `{ kind: 'slow', rate }`
 * (bytes a second, never pausing more than 70 ms), or `{ kind: 'stall', after, forMs }` (reads
 * `after` body bytes, stops reading for `forMs`, then reads on fast). `keepBody`: keep the body
 * (for kinds that must be decoded before comparing). On a kept connection a second request
 * (`GET /ok`) follows a whole body, to show the framing left the connection usable.
 *
 * Resolves with `{ status, headers, framing, bodyBytes, sha256, body, complete, end, reused,
 * stalledAt, ms, error }`: `complete` when the framing said the body was whole (for a
 * close-delimited body: a clean EOF); `end` how the connection ended ('eof', 'reset', 'kept'
 * when it stayed open for the next request, 'timeout').
 */
export function download({ port, path, framing, reader = { kind: 'fast' }, keepBody = false, timeoutMs = 120_000 }) {
  const started = Date.now();
  const hash = createHash('sha256');
  const kept = [];
  const result = {
    status: 0,
    headers: {},
    framing: null,
    bodyBytes: 0,
    sha256: null,
    body: null,
    complete: false,
    end: null,
    reused: false,
    stalledAt: null,
    ms: 0,
    error: null,
  };
  let next = null; // reads the answer to GET /ok, on a kept connection
  let stallTimer = null;

  return new Promise((resolve) => {
    const socket = net.connect({
      port,
      host: '127.0.0.1',
      noDelay: true,
      onread: { buffer: Buffer.alloc(READ_SIZE), callback: (n, buf) => void onData(buf.subarray(0, n)) },
    });
    const finish = (end, error = null) => {
      if (result.end) return;
      result.end = end;
      result.error = error;
      result.ms = Date.now() - started;
      result.sha256 = hash.digest('hex');
      if (keepBody) result.body = Buffer.concat(kept);
      clearTimeout(deadline);
      clearTimeout(stallTimer);
      socket.destroy();
      resolve(result);
    };
    const deadline = setTimeout(() => finish('timeout', `no end after ${timeoutMs} ms`), timeoutMs);

    const onBody = (bytes) => {
      result.bodyBytes += bytes.length;
      hash.update(bytes);
      if (keepBody) kept.push(Buffer.from(bytes));
    };
    const read = responseParser((h) => Object.assign(result, h), onBody);
    const bodyDone = (rest) => {
      result.complete = true;
      if (framing !== 'keep-alive' || result.headers.connection === 'close') return;
      let status = 0;
      let text = '';
      const readNext = responseParser(
        (h) => (status = h.status),
        (b) => (text += b),
      );
      next = (data) => {
        if (readNext(data) === null) return;
        result.reused = status === 200 && text === 'ok';
        finish('kept', result.reused ? null : `the next request got ${status} ${JSON.stringify(text.slice(0, 80))}`);
      };
      socket.write(FRAMINGS['keep-alive']('/ok'));
      if (rest.length) next(rest);
    };

    const pace = () => {
      if (reader.kind === 'slow') {
        const ahead = result.bodyBytes / reader.rate - (Date.now() - started) / 1000;
        if (ahead > 0.001) {
          socket.pause();
          setTimeout(() => socket.resume(), Math.min(MAX_PAUSE_MS, ahead * 1000));
        }
      } else if (reader.kind === 'stall' && result.stalledAt === null && result.bodyBytes >= reader.after) {
        result.stalledAt = Date.now();
        socket.pause();
        stallTimer = setTimeout(() => socket.resume(), reader.forMs);
      }
    };

    socket.on('connect', () => socket.write(FRAMINGS[framing](path)));
    // The read buffer is reused: whatever is kept of `data` is copied.
    const onData = (data) => {
      try {
        if (next !== null) {
          next(data);
          return;
        }
        const rest = read(data);
        if (rest !== null && !result.complete) bodyDone(rest);
        pace();
      } catch (err) {
        finish('reset', err.message);
      }
    };
    socket.on('end', () => {
      if (result.framing === 'close-delimited') result.complete = true;
      finish('eof');
    });
    socket.on('error', (err) => finish('reset', err.code ?? err.message));
    socket.on('close', () => finish('eof'));
  });
}
