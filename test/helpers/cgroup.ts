// A cgroup of its own for one test, with a CPU quota or a memory limit, as a container runtime
// sets them: cgroup v2 where the controller is enabled there, else v1 (this machine has cpu and
// memory on v1). Needs root. Processes join by writing their pid to `procs` (see `prefix`).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { onTestFinished } from 'vitest';

let made = 0;

export interface Cgroup {
  /** The cgroup.procs file to write a pid into. */
  procs: string;
  /** A command prefix that runs the rest of the command line inside the cgroup. */
  prefix: string[];
}

function v2Has(controller: string): boolean {
  try {
    return readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/).includes(controller);
  } catch {
    return false;
  }
}

/** A new cgroup limited to `cpus` CPUs or `memoryBytes` of memory, removed after the test. */
export function makeCgroup(limit: { cpus: number } | { memoryBytes: number }): Cgroup {
  const controller = 'cpus' in limit ? 'cpu' : 'memory';
  const name = `tsws-test-${process.pid}-${++made}`;
  let dir: string;
  const files: Array<[string, string]> = [];
  if (v2Has(controller)) {
    dir = `/sys/fs/cgroup/${name}`;
    writeFileSync('/sys/fs/cgroup/cgroup.subtree_control', `+${controller}`);
    if ('cpus' in limit) files.push(['cpu.max', `${Math.round(limit.cpus * 100_000)} 100000`]);
    else files.push(['memory.max', String(limit.memoryBytes)]);
  } else if (existsSync(`/sys/fs/cgroup/${controller}`)) {
    dir = `/sys/fs/cgroup/${controller}/${name}`;
    if ('cpus' in limit)
      files.push(['cpu.cfs_period_us', '100000'], ['cpu.cfs_quota_us', String(Math.round(limit.cpus * 100_000))]);
    else files.push(['memory.limit_in_bytes', String(limit.memoryBytes)]);
  } else {
    throw new Error(`no ${controller} cgroup controller (v1 or v2) to make a test cgroup in`);
  }
  // mkdir(2) in cgroupfs makes the cgroup with its control files.
  mkdirSync(dir);
  for (const [file, value] of files) writeFileSync(`${dir}/${file}`, value);
  onTestFinished(async () => {
    // The test's processes are gone (or going): the cgroup can be removed once empty.
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(dir);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  const procs = `${dir}/cgroup.procs`;
  return { procs, prefix: ['sh', '-c', `echo $$ > ${procs} && exec "$@"`, 'sh'] };
}
