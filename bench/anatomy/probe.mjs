// Preloaded (--import) into a server for bench/anatomy.mjs: SIGURG opens a measured window and
// the next SIGURG closes it, writing what happened in between to $TSWS_PROBE_OUT as JSON.
// $TSWS_PROBE says what to record: `alloc` (JS heap bytes allocated and GCs, from V8's GC
// profiler: exact, nearly free), `heap` (allocation sites: V8's sampling heap profiler, keeping
// samples of objects already collected, so short-lived garbage shows), `profile` (a CPU profile).
// SIGURG is ignored by default and used by nothing in Node or tsws.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import v8 from 'node:v8';

const what = process.env.TSWS_PROBE ?? 'alloc';
const out = process.env.TSWS_PROBE_OUT;
const session = new Session();
session.connect();
const post = (method, params = {}) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
  );

let open = null;

async function start() {
  if (what === 'heap')
    await post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  if (what === 'profile') {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
  }
  const gc = new v8.GCProfiler();
  gc.start();
  return { gc, used: v8.getHeapStatistics().used_heap_size };
}

async function stop({ gc, used }) {
  const { statistics } = gc.stop();
  // Allocated = what the heap grew by between collections, plus what each collection freed.
  let allocated = 0;
  let after = used;
  const counts = {};
  let gcMs = 0;
  for (const s of statistics) {
    allocated += s.beforeGC.heapStatistics.usedHeapSize - after;
    after = s.afterGC.heapStatistics.usedHeapSize;
    counts[s.gcType] = (counts[s.gcType] ?? 0) + 1;
    gcMs += s.cost / 1000;
  }
  allocated += v8.getHeapStatistics().used_heap_size - after;
  const result = { allocated, gcs: counts, gcMs };
  if (what === 'heap') result.heap = (await post('HeapProfiler.stopSampling')).profile;
  if (what === 'profile') result.profile = (await post('Profiler.stop')).profile;
  writeFileSync(out, JSON.stringify(result));
}

process.on('SIGURG', () => {
  if (open === null) open = start();
  else {
    const window = open;
    open = null;
    void window.then(stop);
  }
});
