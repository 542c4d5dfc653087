// Hello world keep-alive over 50 connections.
export default {
  title: 'hello world, 50 connections',
  request: { method: 'GET', path: '/', headers: {} },
  connections: 50,
  expect: { status: 200, contentType: 'text/plain', bodyBytes: 11 },
};
