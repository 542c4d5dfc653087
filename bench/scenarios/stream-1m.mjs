// A 1 MiB response from a ReadableStream of 16 x 64 KiB chunks: streaming with backpressure.
export default {
  title: '1 MiB streamed response',
  request: { method: 'GET', path: '/stream', headers: {} },
  connections: 10,
  expect: { status: 200, contentType: 'application/octet-stream', bodyBytes: 1 << 20 },
  target: { ratio: 1.5, why: 'issue 4' },
  quick: true,
  streaming: true,
};
