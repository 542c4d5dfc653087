// The load tool's ceiling: Debian's nginx, one worker, answering every request with the
// scenario's response (`return 200` with the body inline; bodies too long for an nginx config
// token are a file it sends with sendfile). C with epoll, no app: what wrk can drive on one core
// against a real HTTP server. Pinned and timed like every server (master and worker together;
// the master idles). Where nginx is missing it is reported "not available", nothing faked.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find(
  (p) => spawnSync(p, ['-v']).status === 0,
);
/** nginx reads config tokens into a 4 KiB buffer: a longer `return` text is refused. */
const INLINE_MAX = 2048;

export default {
  name: 'nginx ceiling',
  ceiling: true,
  about: `nginx ${version()}, one worker: \`return 200\` with the scenario's body (a sendfile'd file over ${INLINE_MAX} bytes), access log off`,
  unavailable: () => (NGINX ? null : 'nginx is not installed (Debian: apt-get install nginx-light)'),
  command: ({ port, scenario, keepAliveTimeout }) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsws-bench-nginx-'));
    const { contentType, bodyBytes } = scenario.expect;
    let answer;
    if (bodyBytes <= INLINE_MAX) answer = `return 200 "${'a'.repeat(bodyBytes)}";`;
    else {
      writeFileSync(join(dir, 'body'), Buffer.alloc(bodyBytes, 0x61));
      chmodSync(dir, 0o755); // nginx started as root serves as nobody
      // The static module answers POST to a file with 405: turn that into the file itself.
      answer = `root ${dir}; try_files /body =404; error_page 405 =200 /body;`;
    }
    const conf = `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 10240; }
http {
  access_log off;
  server_tokens off;
  etag off;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 100000000;
  keepalive_timeout ${Math.max(1, Math.round((keepAliveTimeout ?? 75_000) / 1000))}s;
  client_max_body_size 0;
  client_body_temp_path ${dir}/body-temp;
  proxy_temp_path ${dir}/proxy-temp;
  fastcgi_temp_path ${dir}/fastcgi-temp;
  uwsgi_temp_path ${dir}/uwsgi-temp;
  scgi_temp_path ${dir}/scgi-temp;
  server {
    listen 127.0.0.1:${port};
    location / {
      types { }
      default_type "${contentType}";
      ${answer}
    }
  }
}
`;
    writeFileSync(join(dir, 'nginx.conf'), conf);
    return {
      argv: [NGINX, '-p', dir, '-c', join(dir, 'nginx.conf')],
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

/** "nginx version: nginx/1.22.1", on stderr. */
function version() {
  return NGINX ? (/nginx\/([\d.]+)/.exec(spawnSync(NGINX, ['-v'], { encoding: 'utf8' }).stderr)?.[1] ?? '') : '';
}
