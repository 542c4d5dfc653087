// autocannon (Node), run in a child process pinned to the client core. It tops out near
// 25-48k req/s on one core here, below the servers we measure, so it pipelines by default.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { runToolPinned } from '../proc.mjs';

const PROGRAM = fileURLToPath(import.meta.url);
/** Pipelining depth when the scenario does not set one (fastify's benchmark uses -p 10 too). */
const DEFAULT_DEPTH = 10;

export default {
  name: 'autocannon',
  unavailable: () => null,
  version: () => `autocannon ${createRequire(import.meta.url)('autocannon/package.json').version}`,
  // A closing connection carries one response: there is nothing to pipeline.
  depthFor: (scenario) => scenario.pipelining ?? (scenario.close ? 1 : DEFAULT_DEPTH),
  run({ port, scenario, connections, durationS, cpu }) {
    const opts = {
      port,
      scenario: { request: scenario.request },
      connections,
      durationS,
      depth: this.depthFor(scenario),
    };
    return runToolPinned('autocannon', [process.execPath, PROGRAM, JSON.stringify(opts)], cpu);
  },
};

async function main({ port, scenario, connections, durationS, depth }) {
  const { default: autocannon } = await import('autocannon');
  const { method, path, headers, bodyBytes } = scenario.request;
  const r = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    method,
    headers,
    body: bodyBytes ? Buffer.alloc(bodyBytes, 0x61) : undefined,
    connections,
    pipelining: depth,
    duration: durationS,
    timeout: 10,
  });
  const result = {
    requests: r.requests.total,
    seconds: r.duration,
    bytes: r.throughput.total,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    // autocannon counts resets, early closes and connect failures together.
    errorsBy: { errors: r.errors, timeout: r.timeouts, non2xx: r.non2xx },
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    depth,
  };
  process.stdout.write(`@@${JSON.stringify(result)}\n`);
}

if (process.argv[1] === PROGRAM) await main(JSON.parse(process.argv[2]));
