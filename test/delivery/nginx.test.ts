// nginx in front of tsws (issue 9): Debian's nginx, started here with its own config in a temp
// dir (pid, logs and temp paths there, one process, in the foreground), proxying to `tsws`
// with proxy_buffering off, so nginx reads from tsws only as fast as its client reads. Before
// bddd60a tsws dropped what its kernel buffers had not taken when it closed: nginx logged
// "upstream prematurely closed connection" and its client got 11.6 of 20 MB.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MIB, type RunningServer, runCase, startServer } from '../helpers/delivery/matrix.mjs';
import { freePort } from '../helpers/proc.js';

const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find((p) => existsSync(p));

/** nginx proxying 127.0.0.1:<port> to `upstream`, its error log at <dir>/error.log. */
async function startNginx(upstream: number): Promise<{ port: number; errors: () => string }> {
  if (!NGINX) throw new Error("nginx not found in /usr/sbin: install Debian's nginx-light (.ci/run does)");
  const dir = mkdtempSync(join(tmpdir(), 'tsws-nginx-'));
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${join(dir, t)};`)
    .join('\n');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 64; }
http {
  access_log off;
${temp}
  upstream tsws {
    server 127.0.0.1:${upstream};
    keepalive 4;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://tsws;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`,
  );
  // -e: the error log before the config is read, so nothing is written to /var/log/nginx.
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  onTestFinished(async () => {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  const errors = () => (existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '');
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      execFileSync('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/ok`]);
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`nginx did not start: ${stderr.trim()} ${errors().trim()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { port, errors };
}

async function tsws(bodyTimeout: number): Promise<RunningServer> {
  const server = await startServer('tsws', { bodyTimeout });
  onTestFinished(() => server.stop());
  return server;
}

describe('nginx in front (proxy_buffering off)', () => {
  it('a 20 MB download read at 1 MiB/s arrives whole, with no upstream error logged', { timeout: 60_000 }, async () => {
    const upstream = await tsws(5);
    const nginx = await startNginx(upstream.port);
    // runCase talks to whatever listens on `port`: here nginx, which forwards to tsws.
    const viaNginx = { ...upstream, port: nginx.port };
    const verdicts = await Promise.all(
      (['keep-alive', 'close'] as const).map((framing) =>
        runCase(viaNginx, { kind: 'bytes', framing, reader: 'slow', rate: MIB, size: 20_000_000, bodyTimeout: 5 }),
      ),
    );
    for (const v of verdicts) expect(v.problem).toBeNull();
    expect(nginx.errors()).not.toMatch(/upstream|\[(error|crit|alert|emerg)\]/);
    expect(upstream.warnings()).toEqual([]);
  });

  it('keeps its upstream connection to tsws alive across requests', async () => {
    const upstream = await tsws(5);
    const nginx = await startNginx(upstream.port);
    const peers = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`http://127.0.0.1:${nginx.port}/peer`);
      expect(res.status).toBe(200);
      peers.add(await res.text());
      // A 1 MiB body between them: the kept connection carries bodies, not only small answers.
      const big = await fetch(`http://127.0.0.1:${nginx.port}/body/bytes?size=${MIB}`);
      expect((await big.arrayBuffer()).byteLength).toBe(MIB);
    }
    // One at a time: nginx reuses its one idle upstream connection for each.
    expect(peers.size).toBe(1);
    expect(nginx.errors()).not.toMatch(/\[(error|crit|alert|emerg)\]/);
    expect(upstream.warnings()).toEqual([]);
  });
});
