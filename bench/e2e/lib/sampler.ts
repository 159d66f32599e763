/**
 * CPU and memory of a process tree from /proc (proc(5)): utime+stime of /proc/<pid>/stat (fields 14
 * and 15, in clock ticks) summed over the process and its live descendants, and VmHWM (peak resident
 * set) from /proc/<pid>/status. Threads are included because /proc/<pid>/stat counts the whole
 * thread group; several processes (e.g. a cluster) are covered by walking descendants.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

interface StatLine {
  ppid: number;
  cpuTicks: number;
}

function readStat(pid: number): StatLine | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: fields after the LAST ')' are fixed.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): field n is rest[n - 3].
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** The pid and all its live descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = readStat(Number(d));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(d));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

/** CPU seconds (user+system) used so far by process `pid` alone (its threads, not its children). */
export function ownCpuSeconds(pid: number): number {
  return (readStat(pid)?.cpuTicks ?? 0) / CLK_TCK;
}

/** CPU seconds (user+system) used so far by the tree rooted at `pid`. */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) ticks += readStat(p)?.cpuTicks ?? 0;
  return ticks / CLK_TCK;
}

/**
 * Sum over the tree rooted at `pid` of `/proc/<pid>/status` fields (kB values), in MiB. A process that
 * exited between the walk and the read adds nothing.
 */
function statusMiB(pid: number, fields: string[]): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    let st: string;
    try {
      st = readFileSync(`/proc/${p}/status`, 'utf8');
    } catch {
      continue;
    }
    for (const f of fields) kb += Number(st.match(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0);
  }
  return kb / 1024;
}

/** Peak resident set (VmHWM) of the tree rooted at `pid`, in MiB (sum over processes: an upper bound). */
export function peakRssMiB(pid: number): number {
  return statusMiB(pid, ['VmHWM']);
}

/**
 * Resident set of the tree rooted at `pid` right now, split as /proc/<pid>/status does: `anon` (heap,
 * stacks: the process's own memory) and `file` (RssFile + RssShmem: mapped file pages, e.g. LMDB's
 * memory map of the ledger, which are page cache the kernel can drop and re-read). MiB.
 */
export function rssSplitMiB(pid: number): { anon: number; file: number } {
  return { anon: statusMiB(pid, ['RssAnon']), file: statusMiB(pid, ['RssFile', 'RssShmem']) };
}

/** The machine line printed with every result: cores, CPU model, kernel. */
export function machineLine(): string {
  let model = 'unknown CPU';
  try {
    model =
      readFileSync('/proc/cpuinfo', 'utf8')
        .match(/^model name\s*:\s*(.+)$/m)?.[1]
        ?.trim() ?? model;
  } catch {
    // Not Linux: keep the placeholder.
  }
  let mem = '';
  try {
    const kb = Number(readFileSync('/proc/meminfo', 'utf8').match(/^MemTotal:\s+(\d+)/m)?.[1]);
    if (kb) mem = `, ${(kb / 1024 / 1024).toFixed(1)} GiB RAM`;
  } catch {
    // Optional.
  }
  const nproc = execFileSync('nproc').toString().trim();
  return `nproc=${nproc}, CPU: ${model}${mem}, Node ${process.version}, Linux ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`;
}

/** Clock ticks one CPU spent, from a `cpuN` line of /proc/stat (proc(5)). */
export interface CpuTicks {
  /** user + nice + system + irq + softirq: every kind of work, the kernel's included. */
  busy: number;
  /** idle + iowait. */
  idle: number;
  /** Time the hypervisor ran something else while this vCPU wanted to run. */
  steal: number;
}

/**
 * Parses the per-CPU lines (`cpu0`, `cpu1`, …; not the `cpu` total) of a /proc/stat text. Columns:
 * user nice system idle iowait irq softirq steal … (proc(5)); lines with fewer than 8 are skipped.
 */
export function parseProcStat(text: string): Map<string, CpuTicks> {
  const out = new Map<string, CpuTicks>();
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    if (v.length < 8 || v.some((x) => !Number.isFinite(x))) continue;
    // user nice system idle iowait irq softirq steal
    const at = (i: number) => v[i] ?? 0;
    const busy = at(0) + at(1) + at(2) + at(5) + at(6);
    out.set(m[1]!, { busy, idle: at(3) + at(4), steal: at(7) });
  }
  return out;
}

/** Every CPU's ticks now (empty where /proc/stat cannot be read). */
export function cpuTicks(): Map<string, CpuTicks> {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return new Map();
  }
}

/** Share of a CPU's time that went to work and to steal, in [0, 1]. */
export interface CpuShare {
  busy: number;
  steal: number;
}

/**
 * Share of each CPU's time between two `cpuTicks()` readings that went to work (any process or the
 * kernel) and to steal, each in [0, 1]: what per-process accounting misses (network softirqs charged
 * to no process, other tenants of the machine).
 */
export function cpuShares(
  before: Map<string, CpuTicks>,
  after: Map<string, CpuTicks>,
): Record<string, CpuShare> {
  const out: Record<string, CpuShare> = {};
  for (const [cpu, a] of after) {
    const b = before.get(cpu);
    if (!b) continue;
    const busy = a.busy - b.busy;
    const steal = a.steal - b.steal;
    const total = busy + steal + (a.idle - b.idle);
    if (total > 0) out[cpu] = { busy: busy / total, steal: steal / total };
  }
  return out;
}
