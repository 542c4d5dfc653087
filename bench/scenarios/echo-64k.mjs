// A 64 KiB POST body read whole and sent back: request-body and large-write paths.
export default {
  title: '64 KiB POST echoed',
  request: {
    method: 'POST',
    path: '/echo',
    headers: { 'Content-Type': 'application/octet-stream' },
    bodyBytes: 64 * 1024,
  },
  connections: 10,
  expect: { status: 200, contentType: 'application/octet-stream', bodyBytes: 64 * 1024 },
  target: { ratio: 1.5, why: 'issue 4' },
  quick: true,
};
