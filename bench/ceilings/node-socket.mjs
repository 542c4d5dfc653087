// Node's socket ceiling: a bare net.Socket server that answers each complete request with a
// fixed response, prebuilt for the scenario (same body size and framing as the real servers
// send, so the client does the same work). No HTTP parser: it only finds each request's end
// (blank line, then Content-Length bytes), which pipelined and POST scenarios need. It is what
// Node's own socket layer allows a server on this core, not the load tool's limit: nginx
// (nginx.mjs beside it) shows that one.
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const PROGRAM = fileURLToPath(import.meta.url);

export default {
  name: 'Node socket ceiling',
  ceiling: true,
  about: "a bare net.Socket answering each request with a prebuilt response: Node's own socket layer, no HTTP",
  unavailable: () => null,
  command: ({ port, scenario }) => [
    process.execPath,
    PROGRAM,
    JSON.stringify({ port, ...scenario.expect, close: scenario.close === true }),
  ],
};

function responseFor({ status, contentType, bodyBytes, close }) {
  const head = `HTTP/1.1 ${status} OK\r\ncontent-type: ${contentType}\r\nContent-Length: ${bodyBytes}\r\nDate: ${new Date().toUTCString()}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.alloc(bodyBytes, 0x61)]);
}

function serve(opts) {
  const response = responseFor(opts);
  const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;
  net
    .createServer({ noDelay: true }, (socket) => {
      let pending = ''; // unparsed header bytes (latin1)
      let skip = 0; // body bytes still to pass over
      socket.on('data', (chunk) => {
        let answers = 0;
        let text = chunk.toString('latin1');
        for (;;) {
          if (skip > 0) {
            const n = Math.min(skip, text.length);
            skip -= n;
            text = text.slice(n);
            if (skip > 0) break;
          }
          pending += text;
          text = '';
          const end = pending.indexOf('\r\n\r\n');
          if (end < 0) break;
          const m = CONTENT_LENGTH.exec(pending.slice(0, end));
          skip = m ? Number(m[1]) : 0;
          text = pending.slice(end + 4);
          pending = '';
          answers++;
        }
        if (answers === 0) return;
        if (opts.close) {
          socket.end(response);
          return;
        }
        socket.write(answers === 1 ? response : Buffer.concat(Array(answers).fill(response)));
      });
      socket.on('error', () => {});
    })
    .listen(opts.port, '127.0.0.1');
}

if (process.argv[1] === PROGRAM) serve(JSON.parse(process.argv[2]));
