// The smallest tsws app: a fetch handler as the default export.
//   ./node_modules/.bin/tsws-master examples/hello.mjs --workers 2 --bind 127.0.0.1:8000
// It routes on the path read straight from request.url, as Hono's router does: a `new URL()`
// per request costs more than the rest of this app. Parse one when you need the query string.
const hello = `hello from tsws (pid ${process.pid})\n`;

/** The path of an absolute URL: from the first '/' after "scheme://", up to any '?'. */
function pathOf(url) {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  const query = url.indexOf('?', start);
  return query === -1 ? url.slice(start) : url.slice(start, query);
}

export default {
  fetch(request) {
    if (pathOf(request.url) === '/json') return Response.json({ hello: 'world', pid: process.pid });
    return new Response(hello);
  },
};
