// Hello world over keep-alive connections: the per-request cost of the server's hot path.
export default {
  title: 'hello world, keep-alive',
  request: { method: 'GET', path: '/', headers: {} },
  connections: 10,
  expect: { status: 200, contentType: 'text/plain', bodyBytes: 11 },
  // Node's socket ceiling and nginx's columns say how far a Node server and a C one get here.
  target: { ratio: 2.0, why: 'issue 4' },
  quick: true,
};
