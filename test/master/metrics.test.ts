// The master's metrics endpoint (--metrics-bind) and StatsD sink, against real masters: every
// request counted once by method and status class with OpenTelemetry's names and buckets, totals
// that survive a killed worker and reloads, the master's own gauges and counters, the probes.
import dgram from 'node:dgram';
import { chmodSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/proc.js';
import { childPids } from '../helpers/procfs.mjs';
import { get, sleep, startMaster, tempDir, until } from './helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format's samples (comments dropped). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(metrics: string): Promise<{ type: string | null; samples: Sample[]; text: string }> {
  const res = await fetch(`${metrics}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { type: res.headers.get('content-type'), samples: parse(text), text };
}

/** The one sample named `name` whose labels include `labels`; 0 when there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}

function request(
  url: string,
  method = 'GET',
  body?: string,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A PUT whose head goes first and whose body follows once the answer is in; resolves with the answer. */
function putLate(port: number, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.write(`PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`);
    socket.on('data', (d: string) => {
      if (answer === '') socket.write('y'.repeat(size));
      answer += d;
    });
    socket.on('close', () => resolve(answer));
  });
}

const GET = { http_request_method: 'GET' };
const POST = { http_request_method: 'POST' };
const DURATION = 'http_server_request_duration_seconds';
const OTEL_DURATION_BUCKETS = [
  '0.005',
  '0.01',
  '0.025',
  '0.05',
  '0.075',
  '0.1',
  '0.25',
  '0.5',
  '0.75',
  '1',
  '2.5',
  '5',
  '7.5',
  '10',
  '+Inf',
];

/** Starts a master with metrics on; `metrics` is the endpoint's origin. */
async function metricsMaster(args: string[], env: NodeJS.ProcessEnv = {}) {
  const port = await freePort();
  const m = await startMaster('ops.mjs', ['--metrics-bind', `127.0.0.1:${port}`, ...args], { env });
  return Object.assign(m, { metrics: `http://127.0.0.1:${port}` });
}

/** Waits until the master's total of requests reaches `n` (the workers report them with their heartbeats). */
async function counted(metrics: string, n: number): Promise<Sample[]> {
  let samples: Sample[] = [];
  await until(`${n} requests counted`, async () => {
    samples = (await scrape(metrics)).samples;
    return samples.filter((s) => s.name === `${DURATION}_count`).reduce((t, s) => t + s.value, 0) >= n;
  });
  return samples;
}

describe('metrics on --metrics-bind', () => {
  for (const workerClass of ['tsws', 'node']) {
    it(`counts requests by method and status class, OpenTelemetry's names, buckets (-k ${workerClass})`, async () => {
      const m = await metricsMaster(['-w', '2', '-k', workerClass]);
      const bodies: string[] = [];
      for (let i = 0; i < 3; i++) bodies.push((await request(`${m.origin}/`)).body);
      bodies.push((await request(`${m.origin}/slow?ms=120`)).body);
      for (let i = 0; i < 2; i++)
        expect((await request(`${m.origin}/echo`, 'POST', 'x'.repeat(1000))).body).toHaveLength(1000);
      expect((await request(`${m.origin}/status?code=404`)).status).toBe(404);
      expect((await request(`${m.origin}/status?code=503`)).status).toBe(503);
      // A body the app never reads, sent after its answer came, counts at its declared size.
      expect(await putLate(m.port, 5000)).toMatch(/^HTTP\/1\.1 200 /);

      const samples = await counted(m.metrics, 9);
      const { type, text } = await scrape(m.metrics);
      expect(type).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(text).toContain(`# TYPE ${DURATION} histogram`);
      expect(value(samples, `${DURATION}_count`, { ...GET, http_response_status_class: '2xx' })).toBe(4);
      expect(value(samples, `${DURATION}_count`, { ...POST, http_response_status_class: '2xx' })).toBe(2);
      expect(value(samples, `${DURATION}_count`, { ...GET, http_response_status_class: '4xx' })).toBe(1);
      expect(value(samples, `${DURATION}_count`, { ...GET, http_response_status_class: '5xx' })).toBe(1);
      // Buckets: OpenTelemetry's bounds, cumulative, +Inf equal to the count; the slow one is above 0.1 s.
      const buckets = samples.filter(
        (s) =>
          s.name === `${DURATION}_bucket` &&
          s.labels.http_request_method === 'GET' &&
          s.labels.http_response_status_class === '2xx',
      );
      expect(buckets.map((b) => b.labels.le)).toEqual(OTEL_DURATION_BUCKETS);
      expect(buckets.map((b) => b.value)).toEqual([...buckets.map((b) => b.value)].sort((a, b) => a - b));
      expect(buckets.at(-1)!.value).toBe(4);
      expect(
        value(samples, `${DURATION}_bucket`, { ...GET, http_response_status_class: '2xx', le: '0.1' }),
      ).toBeLessThanOrEqual(3);
      expect(value(samples, `${DURATION}_sum`, { ...GET, http_response_status_class: '2xx' })).toBeGreaterThanOrEqual(
        0.12,
      );
      // Body sizes: 2 x 1000 bytes in, 2 x 1000 out for the echoes; what the GETs answered.
      const PUT = { http_request_method: 'PUT', http_response_status_class: '2xx' };
      expect(value(samples, 'http_server_request_body_size_bytes_sum', PUT)).toBe(5000);
      expect(value(samples, 'http_server_request_body_size_bytes_bucket', { ...PUT, le: '4096' })).toBe(0);
      expect(
        value(samples, 'http_server_request_body_size_bytes_sum', { ...POST, http_response_status_class: '2xx' }),
      ).toBe(2000);
      // The node class counts what the socket wrote past the header block: chunked framing included.
      const echoed = value(samples, 'http_server_response_body_size_bytes_sum', {
        ...POST,
        http_response_status_class: '2xx',
      });
      expect(echoed).toBeGreaterThanOrEqual(2000);
      expect(echoed).toBeLessThanOrEqual(workerClass === 'tsws' ? 2000 : 2000 + 2 * 16);
      expect(
        value(samples, 'http_server_request_body_size_bytes_bucket', {
          ...POST,
          http_response_status_class: '2xx',
          le: '256',
        }),
      ).toBe(0);
      expect(
        value(samples, 'http_server_request_body_size_bytes_bucket', {
          ...POST,
          http_response_status_class: '2xx',
          le: '1024',
        }),
      ).toBe(2);
      const answered = bodies.reduce((n, b) => n + b.length, 0);
      const sent = value(samples, 'http_server_response_body_size_bytes_sum', {
        ...GET,
        http_response_status_class: '2xx',
      });
      expect(sent).toBeGreaterThanOrEqual(answered);
      expect(sent).toBeLessThanOrEqual(workerClass === 'tsws' ? answered : answered + 4 * 16);
      // A null body: nothing (node:http frames it as an empty chunked body: its 5 bytes of framing).
      expect(
        value(samples, 'http_server_response_body_size_bytes_sum', { ...GET, http_response_status_class: '4xx' }),
      ).toBe(workerClass === 'tsws' ? 0 : 5);
      expect(value(samples, 'http_server_active_requests')).toBe(0);
    });
  }

  // On Node 20 a statSync of a socket broke the next import of a symlinked package: nodejs/node#51142.
  it("starts beside another master's control socket", async () => {
    const xdg = tempDir();
    chmodSync(xdg, 0o700);
    // vitest's NODE_PATH holds every package pnpm installed: without it, as a user runs tsws.
    const env = { XDG_RUNTIME_DIR: xdg, NODE_PATH: '' };
    await startMaster('ops.mjs', ['-w', '1'], { env });
    // Its sweep of the directory finds the first master's live socket, then it loads prom-client.
    const m = await metricsMaster(['-w', '1'], env);
    expect((await scrape(m.metrics)).samples.length).toBeGreaterThan(0);
  });

  it('keeps its totals through a killed worker and reloads: never going backwards, counting every answer', async () => {
    const m = await metricsMaster(['-w', '2']);
    let answered = 0;
    let last = 0;
    const step = async (requests: number) => {
      for (let i = 0; i < requests; i++) {
        expect((await get(`${m.origin}/`)).status).toBe(200);
        answered++;
      }
      const samples = await counted(m.metrics, answered);
      const total = value(samples, `${DURATION}_count`, { ...GET, http_response_status_class: '2xx' });
      expect(total).toBeGreaterThanOrEqual(last);
      last = total;
      return samples;
    };
    await step(20);
    // A worker's counts reach the master with its next heartbeat: let one go by, then kill it.
    await sleep(1200);
    const [victim] = childPids(m.pid);
    process.kill(victim!, 'SIGKILL');
    await until('2 workers again', () => childPids(m.pid).length === 2 && !childPids(m.pid).includes(victim!));
    await step(20);
    for (let reload = 0; reload < 2; reload++) {
      const old = childPids(m.pid);
      m.kill('SIGHUP');
      await until('the old workers to leave', () => childPids(m.pid).every((p) => !old.includes(p)));
      await step(10);
    }
    // A retiring worker sends its last counts as it leaves: requests it answered after its last
    // heartbeat are not lost (one worker fewer, at once, right after a burst).
    for (let i = 0; i < 20; i++) {
      expect((await get(`${m.origin}/`)).status).toBe(200);
      answered++;
    }
    m.kill('SIGTTOU');
    await until('one worker', () => childPids(m.pid).length === 1);
    const samples = await step(0);
    expect(last).toBe(answered);
    expect(value(samples, 'tsws_worker_respawns_total', { cause: 'crash' })).toBe(1);
    expect(value(samples, 'tsws_worker_respawns_total', { cause: 'reload' })).toBe(4);
    expect(value(samples, 'tsws_worker_spawns_total')).toBe(7);
    expect(value(samples, 'tsws_workers_target')).toBe(1);
    expect(value(samples, 'tsws_reloads_total', { result: 'ok' })).toBe(2);
  }, 90_000);

  it("reports each worker's requests in flight, memory, event loop; the master's workers, accept queue", async () => {
    const m = await metricsMaster(['-w', '2']);
    const slow = [request(`${m.origin}/slow?ms=3000`), request(`${m.origin}/slow?ms=3000`)];
    let samples: Sample[] = [];
    await until('2 requests in flight', async () => {
      samples = (await scrape(m.metrics)).samples;
      return value(samples, 'http_server_active_requests') === 2;
    });
    const perWorker = (name: string) => samples.filter((s) => s.name === name).map((s) => [s.labels.worker, s.value]);
    expect(perWorker('tsws_worker_active_requests').reduce((n, [, v]) => n + Number(v), 0)).toBe(2);
    expect(
      perWorker('tsws_worker_resident_memory_bytes')
        .map(([w]) => w)
        .sort(),
    ).toEqual(['1', '2']);
    for (const [, rss] of perWorker('tsws_worker_resident_memory_bytes')) expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    for (const [, heap] of perWorker('tsws_worker_heap_used_bytes')) expect(heap).toBeGreaterThan(1024 * 1024);
    for (const [, elu] of perWorker('tsws_worker_event_loop_utilization_ratio')) {
      expect(elu).toBeGreaterThanOrEqual(0);
      expect(elu).toBeLessThanOrEqual(1);
    }
    expect(value(samples, 'tsws_workers', { state: 'ready' })).toBe(2);
    expect(value(samples, 'tsws_workers', { state: 'booting' })).toBe(0);
    expect(value(samples, 'tsws_workers_target')).toBe(2);
    expect(value(samples, 'tsws_ready')).toBe(1);
    expect(value(samples, 'tsws_listen_accept_queue', { listener: `127.0.0.1:${m.port}` })).toBe(0);
    expect(value(samples, 'tsws_listen_accept_queue_max', { listener: `127.0.0.1:${m.port}` })).toBeGreaterThan(0);
    // The master's own process, from prom-client's default metrics.
    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
  });

  it('answers /readyz 200 only with every worker serving, /livez 200, and nothing else', async () => {
    const m = await metricsMaster(['-w', '2']);
    const ready = await fetch(`${m.metrics}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { ready: true, workers: { ready: 2, target: 2 } }]);
    expect(await (await fetch(`${m.metrics}/livez`)).json()).toEqual({ live: true });
    // One worker gone: not ready until its replacement is.
    const [victim] = childPids(m.pid);
    process.kill(victim!, 'SIGKILL');
    const seen = new Set<string>();
    await until('ready again', async () => {
      const r = await fetch(`${m.metrics}/readyz`);
      const body = (await r.json()) as { reason?: string };
      seen.add(`${r.status} ${body.reason ?? ''}`);
      return r.status === 200 && seen.size > 1;
    });
    expect(seen).toContain('503 1 of 2 workers ready');
    expect((await fetch(`${m.metrics}/nope`)).status).toBe(404);
    expect((await fetch(`${m.metrics}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

describe('StatsD (--statsd-host)', () => {
  it('sends the request counters and gauges over UDP once a second', async () => {
    const server = dgram.createSocket('udp4');
    const lines: string[] = [];
    server.on('message', (msg) => lines.push(...msg.toString('utf8').split('\n')));
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    try {
      const statsd = `127.0.0.1:${server.address().port}`;
      const m = await startMaster('ops.mjs', ['-w', '2', '--statsd-host', statsd, '--statsd-prefix', 'shop']);
      for (let i = 0; i < 6; i++) await get(`${m.origin}/`);
      await get(`${m.origin}/status?code=404`);
      const sum = (name: string) =>
        lines
          .filter((l) => l.startsWith(`${name}:`) && l.endsWith('|c'))
          .reduce((n, l) => n + Number(l.slice(name.length + 1, -2)), 0);
      await until('7 requests in StatsD', () => sum('shop.requests') === 7, 10_000);
      expect(sum('shop.requests.2xx')).toBe(6);
      expect(sum('shop.requests.4xx')).toBe(1);
      expect(sum('shop.worker.spawns')).toBe(2);
      expect(lines).toContain('shop.workers:2|g');
      expect(lines).toContain('shop.workers.target:2|g');
      expect(lines.find((l) => l.startsWith('shop.request.duration_mean_ms:'))).toMatch(
        /^shop\.request\.duration_mean_ms:\d+\.\d{3}\|g$/,
      );
      // Counters are sent as increments: another second adds nothing that did not happen.
      await sleep(1500);
      expect(sum('shop.requests')).toBe(7);
    } finally {
      server.close();
    }
  });
});
