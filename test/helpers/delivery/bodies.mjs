// The body kinds of the delivery matrix: every body Node's own Response accepts, made at a given
// size, and the bytes a client must receive for each. The app (app.mjs) makes them; the client
// (client.mjs) checks what arrived against `expected()`.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openAsBlob, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Streams and async iterables hand out the body in pieces this big. */
const PIECE = 64 * 1024;

/** Bytes 0..250 over and over: a dropped, repeated or reordered piece changes the hash. */
const PATTERN = Buffer.from(Array.from({ length: 251 }, (_, i) => i));

/** `size` bytes of the pattern. */
export function payload(size) {
  return Buffer.alloc(size, PATTERN);
}

/** `size` UTF-16 units of text with a two-byte character in it, so bytes and characters differ. */
function text(size) {
  return 'tsws delivers every byte, à la lettre; '.repeat(Math.ceil(size / 39)).slice(0, size);
}

/** Letters only: URL-encoding leaves them as they are. */
function letters(size) {
  return 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(size / 26)).slice(0, size);
}

/** Where file-backed Blobs come from: TSWS_DELIVERY_DIR, or a fixed folder in the temp dir. */
export function filesDir() {
  return process.env.TSWS_DELIVERY_DIR || join(tmpdir(), 'tsws-delivery');
}

/**
 * The file holding `payload(size)`, written once (to a temporary name, then renamed, so two
 * workers writing it at once never leave a short file).
 */
export function payloadFile(size, dir = filesDir()) {
  const path = join(dir, `payload-${size}.bin`);
  if (existsSync(path) && statSync(path).size === size) return path;
  mkdirSync(dir, { recursive: true });
  const part = `${path}.${process.pid}.part`;
  writeFileSync(part, payload(size));
  renameSync(part, path);
  return path;
}

/** The piece of `payload(size)` at `at`, made on its own: a stream never holds the whole body. */
function piece(at, size) {
  const shift = at % PATTERN.length;
  const rotated = Buffer.concat([PATTERN.subarray(shift), PATTERN.subarray(0, shift)]);
  return Buffer.alloc(Math.min(PIECE, size - at), rotated);
}

/** `payload(size)` a piece at a time from a pull source, made as it is asked for. */
function pieces(size) {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= size) return controller.close();
      const next = piece(at, size);
      at += next.length;
      controller.enqueue(next);
    },
  });
}

async function* iterate(size) {
  for (let at = 0; at < size; at += PIECE) yield piece(at, size);
}

/** The form's file part, for a client to take out of the multipart body. */
const FORM_FIELD = 'file';

/**
 * Each kind: `make(size)` the body for `new Response(body)`; `expected(size)` the body bytes a
 * client must get; `decode(bytes, contentType)`, where the bytes vary from one response to the
 * next (a multipart boundary), what to compare with `expected` instead; `readOnce`, a body the
 * response consumes (the others may serve any number of responses).
 */
export const KINDS = {
  bytes: { make: (size) => payload(size), expected: payload },
  string: { make: (size) => text(size), expected: (size) => Buffer.from(text(size)) },
  arrayBuffer: {
    make: (size) => payload(size).buffer.slice(0, size),
    expected: payload,
  },
  dataView: { make: (size) => new DataView(payload(size).buffer, 0, size), expected: payload },
  // A typed array of wider elements: its bytes go out as they are in memory (sizes are
  // multiples of 8 here).
  float64Array: { make: (size) => new Float64Array(payload(size).buffer, 0, size / 8), expected: payload },
  stream: { make: pieces, expected: payload, readOnce: true },
  asyncIterable: { make: iterate, expected: payload, readOnce: true },
  blob: { make: (size) => new Blob([payload(size)]), expected: payload },
  fileBlob: { make: (size) => openAsBlob(payloadFile(size)), expected: payload },
  urlSearchParams: {
    make: (size) => new URLSearchParams({ data: letters(size) }),
    expected: (size) => Buffer.from(`data=${letters(size)}`),
  },
  formData: {
    make(size) {
      const form = new FormData();
      form.append(FORM_FIELD, new Blob([payload(size)]), 'payload.bin');
      return form;
    },
    expected: payload,
    async decode(bytes, contentType) {
      const form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
      const file = form.get(FORM_FIELD);
      return file instanceof Blob ? Buffer.from(await file.arrayBuffer()) : Buffer.alloc(0);
    },
  },
};

const expectations = new Map();

/** What a client must get for `kind` at `size`: `{ length, digest }` (SHA-256, hex). */
export function expectedBody(kind, size) {
  const key = `${kind}:${size}`;
  if (!expectations.has(key)) {
    const bytes = KINDS[kind].expected(size);
    expectations.set(key, { length: bytes.length, digest: createHash('sha256').update(bytes).digest('hex') });
  }
  return expectations.get(key);
}
