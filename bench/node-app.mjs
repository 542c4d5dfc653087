// The Node `(req, res)` listener version of app.mjs: the same routes with the same bytes, in
// node:http's own idiom. node:http serves it directly; the `tsws -k node` servers load it as
// their app (`bench/node-app.mjs:default`), which is what the `node` worker class is for.
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { benchFile, FILES, HELLO, jsonObject, SSE_EVERY_MS, STREAMS, sseEvent } from './app.mjs';

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
    case '/sse': {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let n = 0;
      res.write(sseEvent(n++));
      const timer = setInterval(() => res.write(sseEvent(n++)), SSE_EVERY_MS);
      res.on('close', () => clearInterval(timer));
      return;
    }
    default: {
      const stream = STREAMS[req.url];
      if (stream) {
        // res.write per chunk, waiting for 'drain' when the socket is backed up.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let i = 0; i < stream.count; i++) if (!res.write(stream.chunk)) await once(res, 'drain');
        res.end();
        return;
      }
      const size = FILES[req.url];
      if (size) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
        createReadStream(benchFile(size)).pipe(res);
        return;
      }
      res.writeHead(404).end('not found');
    }
  }
}

/** The request listener; a client that goes away mid-body ends its request, not the server. */
export default function handle(req, res) {
  route(req, res).catch(() => res.destroy());
}
