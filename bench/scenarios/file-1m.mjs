// 1 MiB file, a Blob from fs.openAsBlob (node:http: fs.createReadStream().pipe(res)).
export default {
  title: '1 MiB file (a Blob from fs.openAsBlob; node:http pipes fs.createReadStream)',
  request: { method: 'GET', path: '/file-1m', headers: {} },
  connections: 10,
  expect: { status: 200, contentType: 'application/octet-stream', bodyBytes: 1048576 },
  target: { ratio: 1.0, why: 'issue 9' },
  streaming: true,
};
