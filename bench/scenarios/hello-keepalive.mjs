// Hello world over keep-alive connections: the per-request cost of the server's hot path.
export default {
  title: 'hello world, keep-alive',
  request: { method: 'GET', path: '/', headers: {} },
  connections: 10,
  expect: { status: 200, contentType: 'text/plain', bodyBytes: 11 },
  // The load tool's own ceiling is near 2.5x node:http here: see the ceiling column.
  target: { ratio: 2.0, why: 'issue 4' },
  quick: true,
};
