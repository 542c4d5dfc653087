// What a container (or a systemd slice) allows this process: CPUs and memory, from the cgroup the
// process is in. Node's own answers miss the CPU quota: os.availableParallelism() counts the CPU
// affinity (taskset, --cpuset-cpus) but, before libuv 1.49 (Node 20) and under cgroup v1 on any
// Node, not a quota (docker --cpus, a Kubernetes CPU limit), so a pod limited to 2 CPUs on a
// 64-core node would start 64 workers. process.constrainedMemory() reads the memory limit but
// answers 2^64 (Node 20) or 0 when there is none.
import { readFileSync } from 'node:fs';
import os from 'node:os';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** `/proc/self/cgroup`'s paths: the v2 one (key '') and each v1 controller's. */
function cgroupPaths(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (read('/proc/self/cgroup') ?? '').split('\n')) {
    const [, controllers, path] = line.match(/^\d+:([^:]*):(.*)$/) ?? [];
    if (path === undefined) continue;
    for (const c of controllers!.split(',')) out.set(c, path);
  }
  return out;
}

/** The path and each ancestor up to the root: a limit anywhere above applies too. */
function upwards(root: string, path: string): string[] {
  const dirs: string[] = [];
  for (let p = path; ; p = p.slice(0, p.lastIndexOf('/'))) {
    dirs.push(`${root}${p === '/' ? '' : p}`);
    if (p === '' || p === '/') break;
  }
  return dirs;
}

/** CPUs the cgroup's quota allows (a fraction), or Infinity when there is no quota. */
export function cpuQuota(): number {
  const paths = cgroupPaths();
  let quota = Infinity;
  const v2 = paths.get('');
  if (v2 !== undefined) {
    for (const dir of upwards('/sys/fs/cgroup', v2)) {
      const [max, period] = (read(`${dir}/cpu.max`) ?? '').split(' ');
      if (max && max !== 'max' && Number(period) > 0) quota = Math.min(quota, Number(max) / Number(period));
    }
  }
  const v1 = paths.get('cpu');
  if (v1 !== undefined) {
    for (const mount of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
      for (const dir of upwards(mount, v1)) {
        const max = Number(read(`${dir}/cpu.cfs_quota_us`));
        const period = Number(read(`${dir}/cpu.cfs_period_us`));
        if (max > 0 && period > 0) quota = Math.min(quota, max / period);
      }
    }
  }
  return quota;
}

/** How many CPUs this process may use: the affinity, capped by the quota (whole CPUs, at least 1). */
export function availableCpus(): number {
  return Math.max(1, Math.min(os.availableParallelism(), Math.floor(cpuQuota())));
}

/** The memory limit of the cgroup in bytes, or undefined when there is none (or none below the machine's memory). */
export function memoryLimit(): number | undefined {
  const limit = process.constrainedMemory?.() ?? 0;
  return limit > 0 && limit < os.totalmem() ? limit : undefined;
}
