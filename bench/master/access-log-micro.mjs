#!/usr/bin/env node
// What one access log line costs the worker that writes it: CPU per write() of a typical record,
// JSON and pretty, to a file (buffered in 4 KiB writes, as the workers do). Compare with the
// server's CPU per request from scheduling.mjs.
//   node bench/master/access-log-micro.mjs [--lines 1000000]
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessLog } from '@tsws/worker/internal';

const at = process.argv.indexOf('--lines');
const lines = at >= 0 ? Number(process.argv[at + 1]) : 1_000_000;
const record = {
  method: 'GET',
  target: '/api/items?page=2&sort=name',
  httpVersion: '1.1',
  status: 200,
  bytes: 1234,
  durationMs: 0.412,
  remoteAddress: '127.0.0.1',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  referer: 'https://example.com/items',
};
for (const format of ['json', 'pretty']) {
  const path = join(tmpdir(), `tsws-access-bench-${process.pid}.log`);
  const log = createAccessLog(path, format);
  // Lines arrive between event-loop turns in a server: write in batches and let the file writes run.
  const writeLines = async (n) => {
    for (let i = 0; i < n; i += 100) {
      for (let j = 0; j < 100; j++) log.write(record);
      await new Promise(setImmediate);
    }
  };
  await new Promise((r) => setTimeout(r, 100)); // the file opens asynchronously
  await writeLines(50_000); // warm up
  const idle = process.cpuUsage();
  await writeLines(0); // nothing: the loop's own cost is subtracted below
  for (let i = 0; i < lines; i += 100) await new Promise(setImmediate);
  const loopCost = process.cpuUsage(idle);
  const start = process.cpuUsage();
  await writeLines(lines);
  log.flush();
  const raw = process.cpuUsage(start);
  const used = { user: raw.user - loopCost.user, system: raw.system - loopCost.system };
  console.log(
    `${format}: ${((used.user + used.system) / lines).toFixed(2)} us CPU per line (Node ${process.versions.node})`,
  );
  rmSync(path, { force: true });
}
