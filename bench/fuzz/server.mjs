// A tsws server in a process of its own (so a crash is visible), for the fuzzer and the slow-client
// tests. Usage: node [--expose-gc] bench/fuzz/server.mjs '<ServeOptions as JSON>'
// Speaks over the IPC channel: sends { ready, port, pid } once listening; answers 'stats' with
// { connections, fds, rss, heapUsed, arrayBuffers } (after a GC when run with --expose-gc). Error and warning log lines
// go to stderr as `tsws-log {json}` so the parent can count them.

import { readdirSync } from 'node:fs';
import { serve } from '@tsws/core';
import app from './echo-app.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const line = (level) => (obj, msg) => {
  const err = obj?.err;
  const detail = err instanceof Error ? { ...obj, err: err.stack } : obj;
  process.stderr.write(`tsws-log ${JSON.stringify({ level, msg, ...detail })}\n`);
};
const logger = { error: line('error'), warn: line('warn'), info: () => {}, debug: () => {} };
const server = await serve(app, { bind: '127.0.0.1:0', logger, ...options });

process.on('message', (message) => {
  if (message === 'stats') {
    globalThis.gc?.();
    const { rss, heapUsed, arrayBuffers } = process.memoryUsage();
    process.send({
      stats: {
        connections: server.stats().connections,
        fds: readdirSync('/proc/self/fd').length,
        rss,
        heapUsed,
        arrayBuffers,
      },
    });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, port: server.address().port, pid: process.pid });
