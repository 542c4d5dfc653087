// wrk (C, one thread pinned to core 1), driven through a generated Lua script: the request
// (16 copies concatenated with wrk.format for pipelining) and a done() that prints JSON.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runToolPinned } from '../proc.mjs';

const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => {
  try {
    execFileSync(p, ['-v'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return err.status === 1; // `wrk -v` prints its version and exits 1
  }
});

const lua = (s) => JSON.stringify(s); // a JSON string literal is a valid Lua string literal for ASCII

function script({ method, path, headers, bodyBytes }, depth) {
  const lines = [`wrk.method = ${lua(method)}`, `wrk.path = ${lua(path)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers[${lua(k)}] = ${lua(v)}`);
  if (bodyBytes) lines.push(`wrk.body = string.rep("a", ${bodyBytes})`);
  // Without a request() function wrk sends one prebuilt request: the cheapest client path.
  // init() runs after wrk has set the Host header that wrk.format() puts in each copy.
  if (depth > 1)
    lines.push(
      'local batch',
      `init = function() batch = string.rep(wrk.format(), ${depth}) end`,
      'request = function() return batch end',
    );
  lines.push(
    'done = function(s, latency)',
    '  local e = s.errors',
    '  io.write(string.format(\'@@{"requests":%d,"durationUs":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"p50Us":%d,"p99Us":%d}\\n\',',
    '    s.requests, s.duration, s.bytes, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))',
    'end',
  );
  return `${lines.join('\n')}\n`;
}

export default {
  name: 'wrk',
  unavailable: () => (WRK ? null : 'wrk not installed (/usr/bin/wrk)'),
  version() {
    try {
      execFileSync(WRK, ['-v'], { encoding: 'utf8' });
    } catch (err) {
      // "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer" -> "wrk 4.1.0"
      const v = /\d+\.\d+\.\d+/.exec(String(err.stdout));
      return v ? `wrk ${v[0]}` : 'wrk';
    }
    return 'wrk';
  },
  /** wrk sends one request at a time per connection unless the scenario pipelines. */
  depthFor: (scenario) => scenario.pipelining ?? 1,
  /** wrk takes whole seconds. */
  async run({ port, scenario, connections, durationS, cpu }) {
    const depth = this.depthFor(scenario);
    const dir = mkdtempSync(join(tmpdir(), 'tsws-bench-'));
    const file = join(dir, `${scenario.name}.lua`);
    writeFileSync(file, script(scenario.request, depth));
    const args = [
      WRK,
      '-t1',
      `-c${connections}`,
      `-d${Math.max(1, Math.round(durationS))}s`,
      '--timeout',
      '10s',
      '-s',
      file,
      `http://127.0.0.1:${port}${scenario.request.path}`,
    ];
    const r = await runToolPinned('wrk', args, cpu);
    const e = r.errors;
    return {
      requests: r.requests,
      seconds: r.durationUs / 1e6,
      bytes: r.bytes,
      errors: e.connect + e.read + e.write + e.timeout,
      non2xx: e.status,
      // read: a connection reset, or closed before its response was whole (RFC 9112 §9.6:
      // a server may close an idle connection, but then wrk's next request finds it gone).
      errorsBy: { connect: e.connect, read: e.read, write: e.write, timeout: e.timeout, non2xx: e.status },
      p50Ms: r.p50Us / 1000,
      p99Ms: r.p99Us / 1000,
      depth,
    };
  },
};
