// --drain-delay, tested as Kubernetes runs it: the test plays the kubelet (it sends TERM and
// polls /readyz every 100 ms) and the endpoints controller with its load balancer (traffic keeps
// coming until readiness has been seen failing, and for a propagation delay after that). Load on
// keep-alive and fresh connections throughout; not one request may fail. After the delay the
// master stops accepting, tells each keep-alive client `Connection: close` on its next response,
// and exits 0 within --graceful-timeout.
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { describeFate, startLoad } from '../helpers/loadgen.mjs';
import { freePort } from '../helpers/proc.js';
import { sleep, startMaster, until } from './helpers.js';

const DRAIN_DELAY_S = 3;
const GRACEFUL_TIMEOUT_S = 5;
/** How long after readiness fails the "load balancer" still sends new requests (under the delay). */
const PROPAGATION_MS = 1000;

function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('draining for an orchestrator (--drain-delay)', () => {
  it('turns /readyz 503 at TERM, serves through the delay, fails nothing, stops in --graceful-timeout', async () => {
    const metricsPort = await freePort();
    const m = await startMaster('ops.mjs', [
      '-w',
      '2',
      '--drain-delay',
      String(DRAIN_DELAY_S),
      '--graceful-timeout',
      String(GRACEFUL_TIMEOUT_S),
      '--metrics-bind',
      `127.0.0.1:${metricsPort}`,
    ]);
    const readyz = `http://127.0.0.1:${metricsPort}/readyz`;
    expect((await fetch(readyz)).status).toBe(200);

    // The kubelet's readiness probe, every 100 ms, until the endpoint is gone.
    const t0 = performance.now();
    const probes: Array<{ at: number; status: number }> = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const at = performance.now() - t0;
        const status = await fetch(readyz).then(
          (r) => r.status,
          () => 0,
        );
        probes.push({ at, status });
        await sleep(100);
      }
    })();

    const load = startLoad({ port: m.port, keepAlive: 4, fresh: 2, pauseMs: 5, maxMs: 30_000 });
    await load.answered(100);
    const termAt = performance.now() - t0;
    const termLoad = load.now();
    m.kill('SIGTERM');

    // Readiness fails at once; the load balancer notices and, after propagating, sends no more.
    const unready = await until('/readyz to fail', () => probes.find((p) => p.at > termAt && p.status === 503), 5000);
    // Not dead, though: a liveness probe failing now would have the kubelet kill it mid-drain.
    expect((await fetch(`http://127.0.0.1:${metricsPort}/livez`)).status).toBe(200);
    await sleep(PROPAGATION_MS);
    const result = await load.stop();
    const failures = result.failures.map(describeFate);
    expect(failures, JSON.stringify(result.counts)).toEqual([]);
    const afterTerm = load.fates.filter((f) => f.sent > termLoad && f.outcome === 'ok').length;

    // A client still holding a keep-alive connection: its request spans the end of the delay.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const slow = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      http
        .get(`${m.origin}/slow?ms=2000`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
        })
        .on('error', reject);
    });
    // Past the delay: no longer accepting.
    await until(
      'the listener to close',
      async () => performance.now() - t0 > termAt + DRAIN_DELAY_S * 1000 && (await connectRefused(m.port)),
      10_000,
    );
    const closedAt = performance.now() - t0;
    expect(await slow).toEqual({ status: 200, connection: 'close' });
    agent.destroy();

    const exit = await m.exited;
    const exitAt = performance.now() - t0;
    probing = false;
    await prober;

    const summary = [
      `TERM at ${termAt.toFixed(0)} ms`,
      `first 503 at ${unready.at.toFixed(0)} ms`,
      `listener closed by ${closedAt.toFixed(0)} ms`,
      `exit at ${exitAt.toFixed(0)} ms`,
      `${afterTerm} requests answered after TERM`,
      JSON.stringify(result.counts),
    ].join('; ');
    // "At once": the first probe after TERM that could see it (the process handles TERM in its next turn).
    expect(unready.at - termAt, summary).toBeLessThan(1000);
    expect(
      probes.filter((p) => p.at > unready.at).every((p) => p.status !== 200),
      summary,
    ).toBe(true);
    expect(afterTerm, summary).toBeGreaterThan(10);
    expect(closedAt - termAt, summary).toBeGreaterThanOrEqual(DRAIN_DELAY_S * 1000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitAt - termAt, summary).toBeLessThan((DRAIN_DELAY_S + GRACEFUL_TIMEOUT_S) * 1000);
    const msgs = m.logs().map((l) => l.msg);
    expect(msgs).toContain(`draining: /readyz answers 503; serving for ${DRAIN_DELAY_S} s more, then stopping`);
    expect(msgs.indexOf('stopping gracefully')).toBeGreaterThan(msgs.indexOf('ready'));
  }, 60_000);

  it('keeps draining through a second TERM, and stops at once on INT', async () => {
    const metricsPort = await freePort();
    const m = await startMaster('ops.mjs', [
      '-w',
      '1',
      '--drain-delay',
      '30',
      '--metrics-bind',
      `127.0.0.1:${metricsPort}`,
    ]);
    m.kill('SIGTERM');
    await m.waitForLog((l) => String(l.msg).startsWith('draining:'));
    m.kill('SIGTERM');
    await m.waitForLog((l) => l.msg === 'already draining');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(503);
    expect((await fetch(`${m.origin}/`)).status).toBe(200);
    const t = performance.now();
    m.kill('SIGINT');
    expect(await m.exited).toEqual({ code: 0, signal: null });
    expect(performance.now() - t).toBeLessThan(10_000);
  });
});
