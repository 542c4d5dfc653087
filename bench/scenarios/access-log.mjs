// Hello world keep-alive with the server's access log on, written to a file. Only servers that
// declare `accessLog: true` run it (the tsws CLI does once @tsws/worker lands its access log).
export default {
  title: 'hello world, access log on',
  request: { method: 'GET', path: '/', headers: {} },
  connections: 10,
  needs: 'accessLog',
  expect: { status: 200, contentType: 'text/plain', bodyBytes: 11 },
};
