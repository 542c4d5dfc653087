// node:http with a raw (req, res) handler (bench/node-app.mjs): the baseline every ratio is taken
// against. With an access log it appends a combined-log line per response, as a hand-written app would.
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { accessLine, openAccessLog } from '../combined-log.mjs';
import handle from '../node-app.mjs';

const PROGRAM = fileURLToPath(import.meta.url);

export default {
  name: 'node:http',
  about: 'node:http createServer, raw (req, res) handler',
  baseline: true,
  quick: true,
  memory: { idle: true, perConnection: true },
  accessLog: true,
  unavailable: () => null,
  command: ({ port, keepAliveTimeout, accessLog }) => [
    process.execPath,
    PROGRAM,
    JSON.stringify({ port, keepAliveTimeout, accessLog }),
  ],
};

function serve({ port, keepAliveTimeout, accessLog }) {
  const log = accessLog ? openAccessLog(accessLog) : null;
  const server = http.createServer(
    log
      ? (req, res) => {
          const start = performance.now();
          res.on('finish', () =>
            log.write(
              accessLine(req, res.statusCode, res.getHeader('content-length') ?? '-', performance.now() - start),
            ),
          );
          handle(req, res);
        }
      : handle,
  );
  if (keepAliveTimeout) server.keepAliveTimeout = keepAliveTimeout;
  server.listen(port, '127.0.0.1');
}

if (process.argv[1] === PROGRAM) serve(JSON.parse(process.argv[2]));
