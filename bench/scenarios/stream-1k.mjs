// 100 x 1 KiB streamed response (a ReadableStream, one chunk per pull).
export default {
  title: '100 x 1 KiB streamed response',
  request: { method: 'GET', path: '/stream-1k', headers: {} },
  connections: 50,
  expect: { status: 200, contentType: 'application/octet-stream', bodyBytes: 102400 },
  // And at least 1.5x @hono/node-server (its column over ours, in the same rounds).
  target: { ratio: 1.0, why: "issue 9: at least node:http's res.write" },
  streaming: true,
};
