/**
 * The differential run for one policy: start the real plugin and SIGIL on it, send both the same generated
 * CheckRequests over gRPC, compare, and summarise the disagreements by class with the first few in full.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CheckResponse } from '../../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { unary } from '../authz-client.js';
import { classesOf, compareOutcomes, type FieldDiff, type Outcome, outcomeOf } from './compare.js';
import type { DeliberateId } from './deliberate.js';
import { type Case, describeCase, generateCase, toCheckRequest } from './generate.js';
import { type Side, type SigilSide, startPlugin, startSigil } from './servers.js';

/** One request the two systems answered differently. */
export interface Disagreement {
  index: number;
  request: Case;
  plugin: Outcome;
  sigil: Outcome;
  diffs: FieldDiff[];
  classes: string[];
}

/** The result of one policy's run. */
export interface PolicyReport {
  policy: string;
  seed: number;
  cases: number;
  agreed: number;
  /** class → number of requests showing it. */
  classes: Record<string, number>;
  /** deliberate difference → number of requests where it was applied. */
  excused: Partial<Record<DeliberateId, number>>;
  /** The first disagreements, then one example of each class not among them; in case order. */
  samples: Disagreement[];
}

/** Options of {@link runPolicy}. */
export interface RunOptions {
  seed: number;
  count: number;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Disagreements kept in full besides one example per class (default 5). */
  samples?: number;
}

/** Both systems running one policy. */
export interface Pair {
  policy: string;
  plugin: Side;
  sigil: SigilSide;
  close(): Promise<void>;
}

/** Starts the plugin and SIGIL on `policyFile`. */
export async function startPair(policyFile: string): Promise<Pair> {
  const [plugin, sigil] = await Promise.allSettled([startPlugin(policyFile), startSigil(policyFile)]);
  if (plugin.status === 'rejected' || sigil.status === 'rejected') {
    if (plugin.status === 'fulfilled') await plugin.value.close();
    if (sigil.status === 'fulfilled') await sigil.value.close();
    throw plugin.status === 'rejected' ? plugin.reason : (sigil as PromiseRejectedResult).reason;
  }
  return {
    policy: basename(policyFile),
    plugin: plugin.value,
    sigil: sigil.value,
    close: async () => {
      await Promise.all([plugin.value.close(), sigil.value.close()]);
    },
  };
}

const call = (side: Side, req: unknown): Promise<CheckResponse | Error> =>
  unary<CheckResponse>(side.client, 'Check', req).catch((e: Error) => e);

/** Sends `count` generated requests to both sides of `pair` and compares the answers. */
export async function runPolicy(pair: Pair, o: RunOptions): Promise<PolicyReport> {
  const report: PolicyReport = {
    policy: pair.policy,
    seed: o.seed,
    cases: o.count,
    agreed: 0,
    classes: {},
    excused: {},
    samples: [],
  };
  const keep = o.samples ?? 5;
  const all: Disagreement[] = [];
  // A fresh token every minute: a long run must not outlive its 5-minute TTL.
  let token = { value: '', at: 0 };
  const tokenNow = () => {
    if (Date.now() - token.at > 60_000) {
      token = { value: pair.sigil.identity.mint({ scope: ['*'] }).token, at: Date.now() };
    }
    return token.value;
  };
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < o.count; i = next++) {
      const c = generateCase(o.seed, i);
      const req = toCheckRequest(c, tokenNow());
      const [pr, sr] = await Promise.all([call(pair.plugin, req), call(pair.sigil, req)]);
      const plugin = outcomeOf(pr);
      const sigil = outcomeOf(sr);
      const { diffs, excused } = compareOutcomes(plugin, sigil, 'authorization', c);
      for (const id of excused) report.excused[id] = (report.excused[id] ?? 0) + 1;
      if (diffs.length === 0) {
        report.agreed++;
        continue;
      }
      const classes = classesOf(diffs, plugin, sigil);
      for (const k of classes) report.classes[k] = (report.classes[k] ?? 0) + 1;
      all.push({ index: i, request: c, plugin, sigil, diffs, classes });
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 8 }, worker));
  // The first `keep` disagreements, then the first example of every class they do not show.
  all.sort((a, b) => a.index - b.index);
  const shown = new Set(all.slice(0, keep).flatMap((d) => d.classes));
  report.samples = all.filter((d, i) => {
    if (i < keep) return true;
    const fresh = d.classes.filter((c) => !shown.has(c));
    for (const c of fresh) shown.add(c);
    return fresh.length > 0;
  });
  return report;
}

/** A readable report: the class summary, then the first disagreements field by field. */
export function formatReport(r: PolicyReport): string {
  const L: string[] = [];
  L.push(
    `== ${r.policy}: ${r.agreed}/${r.cases} agree (seed ${r.seed}); deliberate differences applied: ${
      Object.entries(r.excused)
        .map(([k, n]) => `${k}×${n}`)
        .join(', ') || 'none'
    }`,
  );
  const classes = Object.entries(r.classes).sort((a, b) => b[1] - a[1]);
  for (const [k, n] of classes) L.push(`   ${String(n).padStart(5)}  ${k}`);
  for (const d of r.samples) {
    L.push(`-- case #${d.index}: ${describeCase(d.request)}`);
    for (const f of d.diffs) {
      L.push(`     ${f.field}:`);
      L.push(`       plugin: ${JSON.stringify(f.plugin)}`);
      L.push(`       sigil : ${JSON.stringify(f.sigil)}`);
    }
    if (d.sigil.kind === 'deny')
      L.push(`       (sigil code ${d.sigil.message}; body ${JSON.stringify(d.sigil.body.slice(0, 160))})`);
    if (d.plugin.kind !== 'allow' && d.plugin.message)
      L.push(`       (plugin message ${JSON.stringify(d.plugin.message.slice(0, 160))})`);
  }
  return L.join('\n');
}

/**
 * Prints the report of a run with disagreements, and appends it to `$SIGIL_DIFF_REPORT/differential.txt` (and the
 * JSON to `differential.jsonl`) when that variable names a folder, for a look at all policies at once.
 */
export function emitReport(r: PolicyReport): void {
  const text = formatReport(r);
  if (r.agreed !== r.cases) console.log(text);
  const dir = process.env.SIGIL_DIFF_REPORT;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'differential.txt'), `${text}\n\n`);
  appendFileSync(
    join(dir, 'differential.jsonl'),
    `${JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v))}\n`,
  );
}
