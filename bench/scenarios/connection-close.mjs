// A new TCP connection for every request: accept, parse one request, answer, close.
export default {
  title: 'hello world, Connection: close',
  request: { method: 'GET', path: '/', headers: { Connection: 'close' } },
  close: true,
  connections: 10,
  expect: { status: 200, contentType: 'text/plain', bodyBytes: 11 },
  target: { ratio: 1.3, why: 'issue 4' },
  quick: true,
};
