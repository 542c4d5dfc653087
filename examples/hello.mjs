// The smallest tsws app: a fetch handler as the default export.
//   ./node_modules/.bin/tsws-master examples/hello.mjs --workers 2 --bind 127.0.0.1:8000
export default {
  fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/json') return Response.json({ hello: 'world', pid: process.pid });
    return new Response(`hello from tsws (pid ${process.pid})\n`);
  },
};
