/**
 * Summary of a V8 .cpuprofile (node --cpu-prof): the hottest functions by self and by inclusive time,
 * as shares of the busy (non-idle) sampled time, leaving out the first `skipS` seconds (start-up,
 * module loading, warm-up) so the figures describe the steady state under load.
 */
import { readFileSync } from 'node:fs';

interface ProfNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Text report of the `n` hottest functions of `file`, skipping its first `skipS` seconds. */
export function profileTop(file: string, n = 25, skipS = 0): string {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of prof.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  // Each sample's time delta (µs) goes to the node it hit.
  const selfUs = new Map<number, number>();
  let t = 0;
  prof.samples.forEach((id, i) => {
    t += prof.timeDeltas[i] ?? 0;
    if (t >= skipS * 1e6) selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  const key = (x: ProfNode) => {
    const url = x.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/|src\/)/, '$1');
    return `${x.callFrame.functionName || '(anonymous)'} ${url}:${x.callFrame.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    if (node.callFrame.functionName === '(idle)') idle += us;
    self.set(key(node), (self.get(key(node)) ?? 0) + us);
    // Inclusive: once per distinct function on the stack (recursion is not double-counted).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const pct = (x: number) => `${((100 * x) / busy).toFixed(1).padStart(5)} %`;
  const top = (m: Map<string, number>) =>
    [...m]
      .filter(([k]) => !k.startsWith('(idle)') && !k.startsWith('(root)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `${pct(us)}  ${k}`);
  return [
    `${file}: sampled ${(total / 1e6).toFixed(2)} s after the first ${skipS.toFixed(1)} s, busy (non-idle) ${(busy / 1e6).toFixed(2)} s; shares are of busy time`,
    '',
    'Top self time:',
    ...top(self),
    '',
    'Top inclusive time:',
    ...top(incl),
  ].join('\n');
}
