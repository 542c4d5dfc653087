// fastify 5 with native route handlers sending the same bytes as the fetch app.
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const PROGRAM = fileURLToPath(import.meta.url);

export default {
  name: 'fastify',
  about: 'fastify 5, native routes, logger off (on, to the file, for the access-log scenario)',
  accessLog: true,
  unavailable: () => null,
  command: ({ port, keepAliveTimeout, accessLog }) => [
    process.execPath,
    PROGRAM,
    JSON.stringify({ port, keepAliveTimeout, accessLog }),
  ],
};

async function main({ port, keepAliveTimeout, accessLog }) {
  const { default: Fastify } = await import('fastify');
  const { HELLO, jsonObject, STREAM_CHUNK, STREAM_CHUNKS } = await import('../app.mjs');
  const app = Fastify({
    ...(keepAliveTimeout ? { keepAliveTimeout } : {}),
    // fastify's own access log: pino lines for each request and response.
    logger: accessLog ? { level: 'info', file: accessLog } : false,
  });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.get('/', (_req, reply) => reply.header('content-type', 'text/plain;charset=UTF-8').send(HELLO));
  app.get('/json', () => jsonObject);
  app.post('/echo', (req, reply) => reply.header('content-type', 'application/octet-stream').send(req.body));
  app.get('/stream', (_req, reply) => {
    async function* chunks() {
      for (let i = 0; i < STREAM_CHUNKS; i++) yield STREAM_CHUNK;
    }
    return reply
      .header('content-type', 'application/octet-stream')
      .send(Readable.from(chunks(), { objectMode: false }));
  });
  await app.listen({ port, host: '127.0.0.1' });
}

if (process.argv[1] === PROGRAM) await main(JSON.parse(process.argv[2]));
