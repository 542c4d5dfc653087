// node:http with a raw (req, res) handler: the baseline every ratio is taken against.
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { HELLO, jsonObject, STREAM_CHUNK, STREAM_CHUNKS } from '../app.mjs';
import { accessLine, openAccessLog } from '../combined-log.mjs';

const PROGRAM = fileURLToPath(import.meta.url);

export default {
  name: 'node:http',
  about: 'node:http createServer, raw (req, res) handler',
  baseline: true,
  quick: true,
  accessLog: true,
  unavailable: () => null,
  command: ({ port, keepAliveTimeout, accessLog }) => [process.execPath, PROGRAM, JSON.stringify({ port, keepAliveTimeout, accessLog })],
};

async function route(req, res) {
  switch (req.url) {
    case '/':
      res.writeHead(200, { 'content-type': 'text/plain;charset=UTF-8', 'content-length': HELLO.length });
      res.end(HELLO);
      return;
    case '/json': {
      const text = JSON.stringify(jsonObject);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    case '/echo': {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
      return;
    }
    case '/stream':
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < STREAM_CHUNKS; i++) if (!res.write(STREAM_CHUNK)) await once(res, 'drain');
      res.end();
      return;
    default:
      res.writeHead(404).end('not found');
  }
}

/** The request handler; a client that goes away mid-body ends its request, not the server. */
export function handle(req, res) {
  route(req, res).catch(() => res.destroy());
}

function serve({ port, keepAliveTimeout, accessLog }) {
  const log = accessLog ? openAccessLog(accessLog) : null;
  const server = http.createServer(
    log
      ? (req, res) => {
          const start = performance.now();
          res.on('finish', () => log.write(accessLine(req, res.statusCode, res.getHeader('content-length') ?? '-', performance.now() - start)));
          handle(req, res);
        }
      : handle,
  );
  if (keepAliveTimeout) server.keepAliveTimeout = keepAliveTimeout;
  server.listen(port, '127.0.0.1');
}

if (process.argv[1] === PROGRAM) serve(JSON.parse(process.argv[2]));
