// Bare responders below Node's socket ceiling, for bench/anatomy.mjs: how much of a keep-alive
// request's cost is the responder's own JS, Node's Readable (the 'data' path), and Node's
// Writable (socket.write). Each answers every request (GET, no body: it looks only for the blank
// line) with the scenario's prebuilt response, like ceilings/node-socket.mjs.
//   data    public API only: 'data' events, the request end found with Buffer#indexOf (no strings)
//   onread  reads land in one shared buffer (net.Socket's `onread`, which Node offers to clients
//           only: a server gets it by taking over its listener's handle, as tsws's takeOver()
//           does): no Readable, no Buffer per read
//   direct  onread, and each answer written straight to the libuv handle (writeBuffer with a
//           WriteWrap from process.binding): no Writable either. Internal API, a measurement only
//   handle  no net.Socket at all: the accepted libuv handle read into one buffer and written
//           directly, closed without a shutdown when the answer says close (as nginx does). What
//           Node's native layer (libuv, StreamBase) costs with none of net's JS. Internal API
// Not servers to use: a request split across reads is handled, backpressure is not.
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const PROGRAM = fileURLToPath(import.meta.url);

const responder = (mode, about) => ({
  name: `${mode} responder`,
  about,
  unavailable: () => null,
  command: ({ port, scenario }) => [
    process.execPath,
    '--no-deprecation', // process.binding, for `direct`
    PROGRAM,
    JSON.stringify({ mode, port, ...scenario.expect, close: scenario.close === true }),
  ],
});

export default [
  responder('data', "public API: 'data' events, Buffer#indexOf, socket.write"),
  responder('onread', "the listener's handle taken over: reads into one shared buffer, socket.write"),
  responder('direct', 'onread, and writes straight to the libuv handle'),
  responder('handle', 'the libuv handle alone: no net.Socket, direct reads and writes'),
];

const END = Buffer.from('\r\n\r\n');

function serve({ mode, port, status, contentType, bodyBytes, close }) {
  const head = `HTTP/1.1 ${status} OK\r\ncontent-type: ${contentType}\r\nContent-Length: ${bodyBytes}\r\nDate: ${new Date().toUTCString()}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
  const response = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.alloc(bodyBytes, 0x61)]);
  const many = [response];
  const answers = (n) => (many[n] ??= Buffer.concat(Array(n).fill(response)));

  // Counts the complete requests in `chunk` (after what an earlier read left); keeps the rest.
  const count = (state, chunk) => {
    const input = state.rest ? Buffer.concat([state.rest, chunk]) : chunk;
    let n = 0;
    let at = 0;
    for (let end; (end = input.indexOf(END, at)) !== -1; at = end + 4) n++;
    state.rest = at < input.length ? Buffer.from(input.subarray(at)) : null;
    return n;
  };

  const binding = mode === 'direct' || mode === 'handle' ? process.binding('stream_wrap') : null;
  /** Writes to a libuv handle; `then` runs once the bytes are with the kernel. */
  const writeHandle = (handle, data, then = noop) => {
    const req = new binding.WriteWrap();
    req.handle = handle;
    req.oncomplete = () => then();
    req.async = false;
    req.bytes = data.length;
    req.buffer = data;
    handle.writeBuffer(req, data);
    if (!binding.streamBaseState[binding.kLastWriteWasAsync]) then();
  };
  const write = (socket, data) => {
    if (binding === null || !socket._handle) return socket.write(data);
    writeHandle(socket._handle, data);
  };
  const answer = (socket, n) => {
    if (n === 0) return;
    if (close) socket.end(response);
    else write(socket, answers(n));
  };

  const server = net.createServer({ noDelay: true }, (socket) => {
    const state = { rest: null };
    socket.on('data', (chunk) => answer(socket, count(state, chunk)));
    socket.on('error', noop);
  });
  server.listen(port, '127.0.0.1', () => {
    if (mode === 'data') return;
    const shared = Buffer.allocUnsafeSlow(64 * 1024);
    if (mode === 'handle') {
      server._handle.onconnection = (err, handle) => {
        if (err) return;
        handle.setNoDelay(true);
        const state = { rest: null };
        handle.onread = () => {
          const nread = binding.streamBaseState[binding.kReadBytesOrError];
          if (nread < 0) return handle.close(); // EOF or an error
          const n = count(state, shared.subarray(0, nread));
          if (n === 0) return;
          if (close) writeHandle(handle, response, () => handle.close());
          else writeHandle(handle, answers(n));
        };
        handle.useUserBuffer(shared);
        handle.readStart();
      };
      return;
    }
    server._handle.onconnection = (err, handle) => {
      if (err) return;
      handle.setNoDelay(true);
      const state = { rest: null };
      const socket = new net.Socket({
        handle,
        allowHalfOpen: false,
        readable: true,
        writable: true,
        onread: { buffer: shared, callback: (bytes, buf) => answer(socket, count(state, buf.subarray(0, bytes))) },
      });
      socket.on('error', noop);
    };
  });
}

function noop() {}

if (process.argv[1] === PROGRAM) serve(JSON.parse(process.argv[2]));
