/**
 * SIGIL's own view of a phase, from its Prometheus /metrics scraped after every phase: where the time
 * of a Check goes inside the process (pipeline, ledger commit + fsync, GC pauses). Histograms are
 * cumulative, so a phase's figures are the difference between the scrape after it and the one before.
 */

/** Cumulative counters read from one scrape. */
export interface SigilScrape {
  /** Check duration histogram, all results: upper bound (s) → cumulative count. */
  check: Map<number, number>;
  /** Ledger commit duration histogram: upper bound (s) → cumulative count. */
  commit: Map<number, number>;
  /** Decisions recorded over all commits (sum of the entries-per-commit histogram). */
  committedEntries: number;
  /** V8 major (mark-compact) GCs: count and total seconds. */
  majorGcs: number;
  majorGcSeconds: number;
}

/** What happened inside SIGIL during one phase. */
export interface SigilPhase {
  checks: number;
  /** Upper bounds (ms) of the histogram buckets holding the 50th and 99th percentile Check. */
  checkP50Ms: number;
  checkP99Ms: number;
  commits: number;
  commitP99Ms: number;
  /** Decisions per ledger commit (group-commit batch size). */
  perCommit: number;
  majorGcs: number;
  majorGcMs: number;
}

const num = (s: string): number => (s === '+Inf' ? Number.POSITIVE_INFINITY : Number(s));

/** Parses the families the report uses; unknown lines are ignored (a failed scrape gives empty maps). */
export function parseSigilMetrics(text: string): SigilScrape {
  const out: SigilScrape = {
    check: new Map(),
    commit: new Map(),
    committedEntries: 0,
    majorGcs: 0,
    majorGcSeconds: 0,
  };
  for (const line of text.split('\n')) {
    let m = line.match(/^sigil_check_duration_seconds_bucket\{(.*)\} (\d+)$/);
    if (m) {
      const le = m[1]?.match(/le="([^"]+)"/)?.[1];
      if (le !== undefined) out.check.set(num(le), (out.check.get(num(le)) ?? 0) + Number(m[2]));
      continue;
    }
    m = line.match(/^sigil_ledger_commit_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$/);
    if (m) {
      out.commit.set(num(m[1] as string), Number(m[2]));
      continue;
    }
    m = line.match(/^sigil_ledger_commit_entries_sum ([\d.e+-]+)$/);
    if (m) out.committedEntries = Number(m[1]);
    m = line.match(/^nodejs_gc_duration_seconds_(count|sum)\{kind="major"\} ([\d.e+-]+)$/);
    if (m) {
      if (m[1] === 'count') out.majorGcs = Number(m[2]);
      else out.majorGcSeconds = Number(m[2]);
    }
  }
  return out;
}

/** Upper bound (ms) of the bucket holding quantile `q` of a (delta) cumulative histogram. */
function quantileMs(h: Map<number, number>, q: number): number {
  const bounds = [...h.keys()].sort((a, b) => a - b);
  const total = h.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total === 0) return Number.NaN;
  for (const b of bounds) if ((h.get(b) ?? 0) >= q * total) return b * 1000;
  return Number.POSITIVE_INFINITY;
}

function delta(after: Map<number, number>, before: Map<number, number>): Map<number, number> {
  const d = new Map<number, number>();
  for (const [k, v] of after) d.set(k, v - (before.get(k) ?? 0));
  return d;
}

/** The phase between two scrapes. */
export function sigilPhase(before: SigilScrape, after: SigilScrape): SigilPhase {
  const check = delta(after.check, before.check);
  const commit = delta(after.commit, before.commit);
  const commits = commit.get(Number.POSITIVE_INFINITY) ?? 0;
  return {
    checks: check.get(Number.POSITIVE_INFINITY) ?? 0,
    checkP50Ms: quantileMs(check, 0.5),
    checkP99Ms: quantileMs(check, 0.99),
    commits,
    commitP99Ms: quantileMs(commit, 0.99),
    perCommit: commits > 0 ? (after.committedEntries - before.committedEntries) / commits : Number.NaN,
    majorGcs: after.majorGcs - before.majorGcs,
    majorGcMs: (after.majorGcSeconds - before.majorGcSeconds) * 1000,
  };
}
