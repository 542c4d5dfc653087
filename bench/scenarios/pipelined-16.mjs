// 16 requests sent back to back on each connection before any answer (HTTP/1.1 pipelining,
// RFC 9112 §9.3): what a server does when many requests arrive in one read.
export default {
  title: 'hello world, 16-deep pipelined',
  request: { method: 'GET', path: '/', headers: {} },
  connections: 10,
  pipelining: 16,
  expect: { status: 200, contentType: 'text/plain', bodyBytes: 11 },
  target: { ratio: 8, why: 'issue 4' },
  quick: true,
};
