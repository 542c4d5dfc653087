// Hello world keep-alive with the server's access log on, written to a file in a temp dir,
// against the same server with it off: each server that has an access log runs twice per round
// and the ratio is on/off within the round. tsws writes its own JSON lines; node:http a
// combined-log line per response through a write stream; fastify its pino request logging.
export default {
  title: 'hello world, access log on vs off',
  request: { method: 'GET', path: '/', headers: {} },
  connections: 10,
  needs: 'accessLog',
  compare: 'accessLog',
  expect: { status: 200, contentType: 'text/plain', bodyBytes: 11 },
  // At most 15% slower with the log on: on/off >= 0.85.
  target: { ratio: 0.85, of: 'the same server with the log off', why: 'issue 4' },
};
