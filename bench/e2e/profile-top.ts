/**
 * Prints the hottest functions of a V8 .cpuprofile (node --cpu-prof): self time and inclusive time
 * per function (file:line), as shares of the sampled time. Usage: tsx bench/e2e/profile-top.ts FILE [N] [SKIP_SECONDS]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
const [file, nArg] = process.argv.slice(2);
if (!file) throw new Error('usage: tsx bench/e2e/profile-top.ts FILE.cpuprofile [N]');
const prof = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
// Time per sample from timeDeltas (µs); attribute each sample's delta to its node. Samples in the
// first SKIP seconds (start-up, module loading, warm-up) are left out: SKIP = 3rd argument, default 0.
const skipUs = Number(process.argv[4] ?? 0) * 1e6;
const selfUs = new Map<number, number>();
let t = 0;
prof.samples.forEach((id, i) => {
  t += prof.timeDeltas[i] ?? 0;
  if (t >= skipUs) selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
});
const key = (n: Node) => {
  const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/|src\/)/, '$1');
  return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
};
const self = new Map<string, number>();
const incl = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  total += us;
  if (n.callFrame.functionName === '(idle)') idle += us;
  self.set(key(n), (self.get(key(n)) ?? 0) + us);
  // Inclusive: count once per distinct function on the stack.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur)!);
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + us);
  }
}
const busy = total - idle;
const n = Number(nArg ?? 25);
const pct = (x: number) => `${((100 * x) / busy).toFixed(1).padStart(5)} %`;
console.log(
  `sampled ${(total / 1e6).toFixed(2)} s, busy (non-idle) ${(busy / 1e6).toFixed(2)} s; shares below are of busy time`,
);
console.log('\nTop self time:');
for (const [k, us] of [...self]
  .filter(([k]) => !k.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, n))
  console.log(`${pct(us)}  ${k}`);
console.log('\nTop inclusive time:');
for (const [k, us] of [...incl]
  .filter(([k]) => !k.startsWith('(idle)') && !k.startsWith('(root)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, n))
  console.log(`${pct(us)}  ${k}`);
