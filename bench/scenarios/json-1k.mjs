// Response.json() of a ~1 KiB object, serialised per request.
export default {
  title: '1 KiB JSON response',
  request: { method: 'GET', path: '/json', headers: {} },
  connections: 10,
  expect: { status: 200, contentType: 'application/json', bodyBytes: 1034 },
};
