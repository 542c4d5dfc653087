// @hono/node-server (hono 4's Node adapter) serving the shared fetch app over node:http.
import { fileURLToPath } from 'node:url';

const PROGRAM = fileURLToPath(import.meta.url);

export default {
  name: '@hono/node-server',
  about: '@hono/node-server serve({ fetch }), the same fetch app (no Hono router)',
  streaming: true,
  unavailable: () => null,
  command: ({ port, keepAliveTimeout, accessLog }) => [
    process.execPath,
    PROGRAM,
    JSON.stringify({ port, keepAliveTimeout, accessLog }),
  ],
};

async function main({ port, keepAliveTimeout }) {
  const { serve } = await import('@hono/node-server');
  const { default: app } = await import('../app.mjs');
  const server = serve({ fetch: app, port, hostname: '127.0.0.1' });
  if (keepAliveTimeout) server.keepAliveTimeout = keepAliveTimeout;
}

if (process.argv[1] === PROGRAM) await main(JSON.parse(process.argv[2]));
