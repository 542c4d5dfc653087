// node:http piping the fetch app's own streams with `Readable.fromWeb(stream).pipe(res)`: the
// same ReadableStream (or file Blob's stream) as the fetch servers send, written the way a
// node:http app bridges web streams. The streaming pass only (issue 9); its other routes are
// node:http's own (node-app.mjs).

import { openAsBlob } from 'node:fs';
import http from 'node:http';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { benchFile, chunkStream, FILES, STREAMS } from '../app.mjs';
import handle from '../node-app.mjs';

const PROGRAM = fileURLToPath(import.meta.url);

export default {
  name: 'node:http, Readable.fromWeb',
  about:
    "node:http createServer, the fetch app's ReadableStream (or file Blob stream) through Readable.fromWeb(stream).pipe(res)",
  streaming: true,
  scenarios: ['stream-small', 'stream-1k', 'stream-1m', 'file-1m', 'file-100m'],
  unavailable: () => null,
  command: ({ port, keepAliveTimeout }) => [process.execPath, PROGRAM, JSON.stringify({ port, keepAliveTimeout })],
};

async function fromWeb(req, res) {
  const stream = STREAMS[req.url];
  const size = FILES[req.url];
  if (!stream && !size) return handle(req, res);
  const headers = { 'content-type': 'application/octet-stream', ...(size ? { 'content-length': size } : {}) };
  const body = stream ? chunkStream(stream) : (await openAsBlob(benchFile(size))).stream();
  res.writeHead(200, headers);
  Readable.fromWeb(body).pipe(res);
}

function serve({ port, keepAliveTimeout }) {
  const server = http.createServer((req, res) => void fromWeb(req, res).catch(() => res.destroy()));
  if (keepAliveTimeout) server.keepAliveTimeout = keepAliveTimeout;
  server.listen(port, '127.0.0.1');
}

if (process.argv[1] === PROGRAM) serve(JSON.parse(process.argv[2]));
