// 100 MiB file, a Blob from fs.openAsBlob (node:http: fs.createReadStream().pipe(res)); RSS after shows it is never read whole.
export default {
  title: '100 MiB file (a Blob from fs.openAsBlob; node:http pipes fs.createReadStream)',
  request: { method: 'GET', path: '/file-100m', headers: {} },
  // A few connections and a long window: each answer is 100 MiB.
  connections: 2,
  minDurationS: 10,
  expect: { status: 200, contentType: 'application/octet-stream', bodyBytes: 104857600 },
  target: { ratio: 1.0, why: 'issue 9' },
  streaming: true,
};
