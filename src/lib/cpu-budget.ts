/**
 * How many CPUs this process can really use: the affinity mask (`os.availableParallelism()`, which libuv
 * reads from sched_getaffinity) capped by a cgroup CPU quota — what a Kubernetes CPU limit sets, and what
 * the affinity mask does not show. Linux only; elsewhere the affinity figure stands.
 *
 * cgroup v2: `cpu.max` = "<quota|max> <period>" (Documentation/admin-guide/cgroup-v2.rst, "CPU Interface
 * Files"). cgroup v1: `cpu.cfs_quota_us` (-1 = none) over `cpu.cfs_period_us` (scheduler/sched-bwc.rst).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** CPUs a v2 `cpu.max` allows (fractional), or undefined for "max" or an unreadable value. */
export function parseCpuMax(text: string): number | undefined {
  const m = /^(max|\d+)\s+(\d+)\s*$/.exec(text.trim());
  if (!m || m[1] === 'max') return undefined;
  const quota = Number(m[1]);
  const period = Number(m[2]);
  return quota > 0 && period > 0 ? quota / period : undefined;
}

/** CPUs a v1 CFS quota allows (fractional), or undefined for no quota (-1) or unreadable values. */
export function parseCfsQuota(quotaText: string, periodText: string): number | undefined {
  const quota = Number(quotaText.trim());
  const period = Number(periodText.trim());
  if (!Number.isInteger(quota) || !Number.isInteger(period) || quota <= 0 || period <= 0) return undefined;
  return quota / period;
}

/** Reads a file as text, or undefined when it is not there (a controller not mounted, not Linux). */
export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * The CPU quota of this process's cgroup (fractional CPUs), or undefined when there is none or it cannot be
 * read. Looks at the process's own cgroup (`/proc/self/cgroup`) and at the root of the mount, which is where a
 * container sees its own cgroup; the first quota found wins.
 */
export function cgroupCpuQuota(read: ReadText = readText): number | undefined {
  const own = read('/proc/self/cgroup') ?? '';
  let v2Path = '/';
  let v1Path = '/';
  for (const line of own.split('\n')) {
    // "hierarchy-ID:controller-list:cgroup-path" (man 7 cgroups); v2 is "0::/path".
    const [id, controllers, ...rest] = line.split(':');
    const path = rest.join(':');
    if (id === '0' && controllers === '' && path) v2Path = path;
    else if (controllers?.split(',').includes('cpu') && path) v1Path = path;
  }
  const join = (base: string, p: string): string => (p === '/' ? base : `${base}${p}`);
  // A missing file reads as '' and parses to undefined, like "no quota".
  const text = (path: string): string => read(path) ?? '';
  const v2 = [join('/sys/fs/cgroup', v2Path), join('/sys/fs/cgroup/unified', v2Path), '/sys/fs/cgroup'];
  const v1 = [
    join('/sys/fs/cgroup/cpu', v1Path),
    join('/sys/fs/cgroup/cpu,cpuacct', v1Path),
    '/sys/fs/cgroup/cpu',
  ];
  const probes = [
    ...v2.map((d) => () => parseCpuMax(text(`${d}/cpu.max`))),
    ...v1.map((d) => () => parseCfsQuota(text(`${d}/cpu.cfs_quota_us`), text(`${d}/cpu.cfs_period_us`))),
  ];
  for (const probe of probes) {
    const cpus = probe();
    if (cpus !== undefined) return cpus;
  }
  return undefined;
}

/** Whole CPUs this process can keep busy: the affinity mask, capped by the cgroup quota (rounded up, ≥ 1). */
export function cpuBudget(read: ReadText = readText, affinity: number = availableParallelism()): number {
  const quota = cgroupCpuQuota(read);
  return quota === undefined ? affinity : Math.max(1, Math.min(affinity, Math.ceil(quota)));
}
