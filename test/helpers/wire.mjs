// Reading HTTP/1.x responses from raw bytes: the one parser behind the raw client (raw.ts), the
// fuzzer (fuzz.mjs) and the load generator (loadgen.mjs). Pure functions over a Buffer that
// holds the response at its start: each says "incomplete" (null) until the bytes are all there.
// Strict where a client must be: a status line, `name: value` fields, one framing header.

const CRLF = Buffer.from('\r\n');
const CRLF2 = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/;

const show = (buf) => JSON.stringify(buf.subarray(0, 80).toString('latin1'));

/**
 * The status line and header fields at the start of `buf`: `{ version, status, reason, headers,
 * size }` (headers as [lower-cased name, value] pairs in order, size counting the blank line), or
 * `{ error }`, or null while the head is incomplete.
 */
export function parseHead(buf) {
  const end = buf.indexOf(CRLF2);
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = STATUS_LINE.exec(lines[0]);
  if (!m) return { error: `not a status line: ${JSON.stringify(lines[0].slice(0, 80))}` };
  const headers = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const repeated = (name === 'content-length' || name === 'transfer-encoding') && headers.some(([n]) => n === name);
    if (colon <= 0 || repeated) return { error: `bad or repeated framing header: ${JSON.stringify(line)}` };
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  return { version: m[1], status: Number(m[2]), reason: m[3] ?? '', headers, size: end + 4 };
}

/** The chunked body starting at `at`: `{ body, end }`, `{ error }`, or null while incomplete. */
function chunked(buf, at) {
  const parts = [];
  for (;;) {
    const eol = buf.indexOf(CRLF, at);
    if (eol < 0) return null;
    const sizeText = buf.subarray(at, eol).toString('latin1').split(';')[0].trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return { error: `bad chunk size: ${show(buf.subarray(at))}` };
    const size = Number.parseInt(sizeText, 16);
    at = eol + 2;
    if (size === 0) break;
    if (buf.length < at + size + 2) return null;
    parts.push(buf.subarray(at, at + size));
    at += size + 2;
  }
  // Trailer fields, up to the blank line.
  for (;;) {
    const eol = buf.indexOf(CRLF, at);
    if (eol < 0) return null;
    const blank = eol === at;
    at = eol + 2;
    if (blank) return { body: Buffer.concat(parts), end: at };
  }
}

/**
 * The response at the start of `buf`: `{ response, size }` once it is whole, `{ error }` if it is
 * not a response, or null while more bytes are needed. `head` says it answers a HEAD (no body);
 * a function decides from the headers. `ended`: no more bytes will come, so a body without
 * framing runs to the end, and anything incomplete is an error.
 */
export function parseResponse(buf, { head = false, ended = false } = {}) {
  const h = parseHead(buf);
  if (h === null) return ended ? { error: `incomplete head: ${show(buf)}` } : null;
  if (h.error) return h;
  const { size, ...fields } = h;
  const header = (name) => fields.headers.find(([n]) => n === name)?.[1];
  const done = (body, end) => ({ response: { ...fields, body }, size: end });
  const noBody = (typeof head === 'function' ? head(fields.headers) : head) || h.status < 200;
  if (noBody || h.status === 204 || h.status === 304) return done(Buffer.alloc(0), size);
  const incomplete = (what) => (ended ? { error: `incomplete ${what}` } : null);
  if (/(^|,)\s*chunked\s*$/i.test(header('transfer-encoding') ?? '')) {
    const c = chunked(buf, size);
    if (c === null) return incomplete('chunked body');
    return c.error ? c : done(c.body, c.end);
  }
  const length = header('content-length');
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) return { error: `bad Content-Length: ${JSON.stringify(length)}` };
    const end = size + Number(length);
    return buf.length < end ? incomplete('body') : done(buf.subarray(size, end), end);
  }
  // Delimited by the close.
  return ended ? done(buf.subarray(size), buf.length) : null;
}
