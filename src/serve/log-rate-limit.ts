/** Per-key token buckets for log lines: a flood of denies costs a bounded number of lines, with a tally. */

/** Options of {@link createLogRateLimit}. */
export interface LogRateLimitOptions {
  /** Lines per second each key may write in the long run (default 10). */
  perSecond?: number;
  /** Lines a key may write at once after a quiet spell (default `perSecond`). */
  burst?: number;
  /** Milliseconds between "suppressed" reports for a key (default 1000). */
  reportMs?: number;
  /** Called once per key and report period with the lines dropped since the last report. */
  onSuppressed: (key: string, count: number) => void;
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number;
}

/** Decides whether one more log line for a key may be written now. */
export type LogRateLimit = (key: string) => boolean;

interface Bucket {
  tokens: number;
  last: number;
  suppressed: number;
}

/** Distinct keys kept; any further key shares one bucket, so a policy naming endless codes stays bounded. */
const MAX_KEYS = 1000;
const OTHER = '*';

/**
 * A token bucket per key: `take(key)` is true while the key has a token (refilled at `perSecond`, at most
 * `burst`), else it counts the line as suppressed. Suppressed counts are reported through `onSuppressed` by a
 * one-shot unref'd timer started on the first suppression of a period, so the tally also arrives when the
 * flood stops, and an idle limiter holds no timer.
 */
export function createLogRateLimit(o: LogRateLimitOptions): LogRateLimit {
  const perMs = (o.perSecond ?? 10) / 1000;
  const burst = o.burst ?? o.perSecond ?? 10;
  const reportMs = o.reportMs ?? 1000;
  const now = o.now ?? (() => performance.now());
  const buckets = new Map<string, Bucket>();
  let timer: NodeJS.Timeout | undefined;
  const report = () => {
    timer = undefined;
    for (const [key, b] of buckets) {
      if (b.suppressed === 0) continue;
      const n = b.suppressed;
      b.suppressed = 0;
      o.onSuppressed(key, n);
    }
  };
  return (key) => {
    const t = now();
    const k = buckets.has(key) || buckets.size < MAX_KEYS ? key : OTHER;
    let b = buckets.get(k);
    if (b === undefined) {
      b = { tokens: burst, last: t, suppressed: 0 };
      buckets.set(k, b);
    }
    b.tokens = Math.min(burst, b.tokens + (t - b.last) * perMs);
    b.last = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    b.suppressed++;
    if (timer === undefined) timer = setTimeout(report, reportMs).unref();
    return false;
  };
}
