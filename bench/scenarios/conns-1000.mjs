// Hello world keep-alive over 1,000 connections: per-connection bookkeeping under load.
export default {
  title: 'hello world, 1,000 connections',
  request: { method: 'GET', path: '/', headers: {} },
  connections: 1000,
  expect: { status: 200, contentType: 'text/plain', bodyBytes: 11 },
};
