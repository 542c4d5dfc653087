// Preloaded (with --expose-gc) into server processes for the memory measurement only: SIGPWR
// runs a full garbage collection, so RSS is read without the garbage a burst of accepts leaves,
// and writes the live JS heap size to $TSWS_BENCH_HEAP_DIR/<pid>.
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';

process.on('SIGPWR', () => {
  globalThis.gc?.();
  const dir = process.env.TSWS_BENCH_HEAP_DIR;
  if (dir) writeFileSync(`${dir}/${process.pid}`, String(v8.getHeapStatistics().used_heap_size));
});
