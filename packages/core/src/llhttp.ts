// One llhttp 9 WebAssembly instance per process (the build that ships inside undici), shared by
// every connection. Each connection owns a parser struct inside the instance's memory; input is
// copied into one reusable buffer, and the callbacks find their connection through `current`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// The slice of the WebAssembly API used here (@types/node 20 does not declare it).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (mod: WasmModule, imports: object) => { exports: unknown };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * What a connection implements to receive llhttp's callbacks: text as latin1 strings, body bytes
 * as views of the chunk being executed (borrowed: copy what is kept).
 */
export interface ParserCallbacks {
  onMessageBegin(): number;
  onUrl(part: string): number;
  onHeaderField(part: string): number;
  onHeaderValue(part: string): number;
  onHeadersComplete(keepAlive: boolean, upgrade: boolean): number;
  onBody(bytes: Buffer): number;
  onMessageComplete(): number;
}

interface LlhttpExports {
  memory: WasmMemory;
  malloc(size: number): number;
  free(ptr: number): void;
  llhttp_alloc(type: number): number;
  llhttp_free(ptr: number): void;
  llhttp_execute(ptr: number, data: number, len: number): number;
  llhttp_resume(ptr: number): void;
  llhttp_get_error_reason(ptr: number): number;
  llhttp_get_error_pos(ptr: number): number;
}

/** The undici found, and the one @tsws/core depends on: the build the offsets below were read from. */
const UNDICI_FOUND = (require('undici/package.json') as { version: string }).version;
const UNDICI_WANTED = (require('../package.json') as { dependencies: { undici: string } }).dependencies.undici;
const constants = require('undici/lib/llhttp/constants.js') as {
  ERROR: Record<string, number>;
  METHODS: Record<string, number>;
  TYPE: { REQUEST: number };
  FLAGS: Record<string, number>;
};

export const ERROR = {
  OK: constants.ERROR.OK!,
  PAUSED: constants.ERROR.PAUSED!,
  PAUSED_UPGRADE: constants.ERROR.PAUSED_UPGRADE!,
  USER: constants.ERROR.USER!,
};
const ERROR_NAMES: string[] = [];
for (const [name, code] of Object.entries(constants.ERROR)) ERROR_NAMES[code] = `HPE_${name}`;

/** Method names indexed by llhttp's method code. */
const METHOD_NAMES: string[] = [];
for (const [name, code] of Object.entries(constants.METHODS)) METHOD_NAMES[code] = name;

const F_CHUNKED = constants.FLAGS.CHUNKED!;
const F_CONTENT_LENGTH = constants.FLAGS.CONTENT_LENGTH!;
const F_TRANSFER_ENCODING = constants.FLAGS.TRANSFER_ENCODING!;

/** bodyLengthOf(): Transfer-Encoding without chunked last; RFC 9112 §6.3 makes the length unknowable. */
export const UNFRAMED = -2;

// Offsets into llhttp's private `llhttp__internal_s` on wasm32, read from llhttp 9's llhttp.h and
// checked on undici 7.30.2's build (package.json keeps to 7.30.x); load() checks them on every start.
const OFF_CONTENT_LENGTH = 32; // uint64_t
const OFF_METHOD = 41; // uint8_t
const OFF_MAJOR = 42; // uint8_t
const OFF_MINOR = 43; // uint8_t
const OFF_FLAGS = 50; // uint16_t

/** Buffer#latin1Slice: what toString('latin1', ...) calls, minus its dispatch (present on every Node we support). */
type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };
const NO_INPUT = Buffer.alloc(0) as Latin1Buffer;

let wasm: LlhttpExports | undefined;
let current: ParserCallbacks | null = null;
/** The chunk being executed, and where its copy sits in the instance's memory. */
let input = NO_INPUT;
let inputPtr = 0;
let inputSize = 0;
let mem = new Uint8Array(0);
let view = new DataView(new ArrayBuffer(0));

function loadInstance(): LlhttpExports {
  // SIMD first, as undici does; UNDICI_NO_WASM_SIMD=1 forces the plain build.
  let mod: WasmModule | undefined;
  if (process.env.UNDICI_NO_WASM_SIMD !== '1') {
    try {
      mod = new Wasm.Module(require('undici/lib/llhttp/llhttp_simd-wasm.js') as Buffer);
    } catch {
      mod = undefined;
    }
  }
  mod ??= new Wasm.Module(require('undici/lib/llhttp/llhttp-wasm.js') as Buffer);
  const instance = new Wasm.Instance(mod, {
    env: {
      wasm_on_message_begin: () => current!.onMessageBegin(),
      wasm_on_url: (_p: number, at: number, len: number) =>
        current!.onUrl(input.latin1Slice(at - inputPtr, at - inputPtr + len)),
      wasm_on_status: () => 0,
      wasm_on_header_field: (_p: number, at: number, len: number) =>
        current!.onHeaderField(input.latin1Slice(at - inputPtr, at - inputPtr + len)),
      wasm_on_header_value: (_p: number, at: number, len: number) =>
        current!.onHeaderValue(input.latin1Slice(at - inputPtr, at - inputPtr + len)),
      wasm_on_headers_complete: (_p: number, _status: number, upgrade: number, keepAlive: number) =>
        current!.onHeadersComplete(keepAlive === 1, upgrade === 1),
      wasm_on_body: (_p: number, at: number, len: number) =>
        current!.onBody(input.subarray(at - inputPtr, at - inputPtr + len)),
      wasm_on_message_complete: () => current!.onMessageComplete(),
    },
  });
  return instance.exports as unknown as LlhttpExports;
}

function refreshViews(): void {
  const buffer = wasm!.memory.buffer;
  if (mem.buffer !== buffer) {
    mem = new Uint8Array(buffer);
    view = new DataView(buffer);
  }
}

export class LlhttpError extends Error {
  readonly code = 'ERR_TSWS_LLHTTP';
}

/** Callbacks that all answer 0: the probe reads the struct once the parser is done. */
const IGNORE = new Proxy({}, { get: () => () => 0 }) as ParserCallbacks;
/** A request that sets every field read below; its length needs both 32-bit words. */
const PROBE = Buffer.from('PATCH /probe HTTP/1.1\r\nContent-Length: 4328719365\r\n\r\n', 'latin1');
const PROBE_READ = 'PATCH 1.1 4328719365';

/**
 * Builds the instance (once: every server calls this as it starts) and reads a known request back
 * through the offsets, so a build with another layout stops the server instead of misreading requests.
 */
export function load(): void {
  if (wasm !== undefined) return;
  wasm = loadInstance();
  const ptr = allocParser();
  const ret = execute(ptr, PROBE, IGNORE);
  const h: HeadLine = { method: '', major: 0, minor: 0, bodyLength: 0 };
  readHead(ptr, h);
  freeParser(ptr);
  const read = `${h.method} ${h.major}.${h.minor} ${h.bodyLength}`;
  if (ret === ERROR.OK && read === PROBE_READ) return;
  wasm = undefined;
  inputPtr = inputSize = 0;
  throw new LlhttpError(
    `tsws: the llhttp build in undici ${UNDICI_FOUND} does not match what @tsws/core reads from it ` +
      `(a known request read back as "${read}", not "${PROBE_READ}"): @tsws/core needs undici ${UNDICI_WANTED}`,
  );
}

/** Allocates a request parser (after load()). */
export function allocParser(): number {
  const ptr = wasm!.llhttp_alloc(constants.TYPE.REQUEST);
  refreshViews();
  return ptr;
}

export function freeParser(ptr: number): void {
  wasm!.llhttp_free(ptr);
}

/** Runs the parser over `chunk`, calling back into `callbacks`. Returns llhttp's error code. */
export function execute(ptr: number, chunk: Buffer, callbacks: ParserCallbacks): number {
  const w = wasm!;
  if (chunk.length > inputSize) {
    if (inputPtr) w.free(inputPtr);
    inputSize = Math.ceil(chunk.length / 4096) * 4096;
    inputPtr = w.malloc(inputSize);
    refreshViews();
  }
  mem.set(chunk, inputPtr);
  current = callbacks;
  input = chunk as Latin1Buffer;
  try {
    return w.llhttp_execute(ptr, inputPtr, chunk.length);
  } finally {
    current = null;
    input = NO_INPUT;
  }
}

export function resume(ptr: number): void {
  wasm!.llhttp_resume(ptr);
}

/** Where in the last executed chunk the parser stopped (for a pause or an error). */
export function errorOffset(ptr: number): number {
  return wasm!.llhttp_get_error_pos(ptr) - inputPtr;
}

export function errorReason(ptr: number, code: number): string {
  const at = wasm!.llhttp_get_error_reason(ptr);
  const name = ERROR_NAMES[code] ?? `HPE_${code}`;
  if (!at) return name;
  const end = mem.indexOf(0, at);
  return `${name}: ${Buffer.from(mem.buffer, at, end - at).toString('latin1')}`;
}

export function methodOf(ptr: number): string {
  return METHOD_NAMES[mem[ptr + OFF_METHOD]!] ?? 'GET';
}

/** A parsed head's method, version and declared body length: a byte count, -1 for chunked, 0 for none, or UNFRAMED. */
export interface HeadLine {
  method: string;
  major: number;
  minor: number;
  bodyLength: number;
}

/** Reads the method, version and framing of the head just parsed (from onHeadersComplete on) into `into`. */
export function readHead(ptr: number, into: HeadLine): void {
  into.method = methodOf(ptr);
  into.major = mem[ptr + OFF_MAJOR]!;
  into.minor = mem[ptr + OFF_MINOR]!;
  into.bodyLength = bodyLengthOf(ptr);
}

function bodyLengthOf(ptr: number): number {
  const flags = view.getUint16(ptr + OFF_FLAGS, true);
  if (flags & F_CHUNKED) return -1;
  if (flags & F_TRANSFER_ENCODING) return UNFRAMED;
  if (!(flags & F_CONTENT_LENGTH)) return 0;
  return view.getUint32(ptr + OFF_CONTENT_LENGTH, true) + view.getUint32(ptr + OFF_CONTENT_LENGTH + 4, true) * 2 ** 32;
}
