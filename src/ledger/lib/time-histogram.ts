/**
 * Entry counts over time answered from the log's indexes (docs/ledger.md §4 "Time histogram"): the time
 * postings (one key per second) give the entries of each bucket without reading them, the decision postings
 * say which are allows and which denies, and the task / agent / lifecycle-kind postings narrow them. Only the
 * entries of a partly covered second at either end of the range, and entries a non-indexed filter must look
 * at, are decoded.
 */
import { LedgerError } from '../errors.js';
import type { LedgerRecord } from '../record.js';
import { indexValue, KIND, timeBucket } from './decision-index.js';
import { isLifecycleKind } from './lifecycle-schema.js';
import type { PostingIndex } from './posting-index.js';

/** Record kinds a histogram may name besides the lifecycle kinds (as queries do). */
const DECISION_KINDS = new Set(['decision', 'aggregate', 'dropped']);

/** Filters and shape of {@link timeHistogram}. Times are epoch ms, both bounds inclusive. */
export interface HistogramQuery {
  since: number;
  until: number;
  /** Wanted number of buckets (1…1000, default 60); buckets are whole seconds, so there may be one more. */
  buckets?: number;
  task?: string;
  /** Matches the leaf `sub`, any hop's `sub`, or a lifecycle entry's `sub` / `parent_sub` (as queries do). */
  agent?: string;
  decision?: 'allow' | 'deny';
  /** Absent: decision entries (allow and deny, aggregates included); `all`; or one entry kind (docs/ledger.md §4). */
  kind?: string;
  /** A further filter on the decoded record (fields no index covers); each candidate is decoded once. */
  match?: (record: LedgerRecord) => boolean;
  /** Most records decoded before the answer is cut short (default 200 000). */
  maxDecoded?: number;
}

/** One bucket: entries with `start ≤ ts < end`. */
export interface HistogramBucket {
  start: number;
  end: number;
  allow: number;
  deny: number;
  /** Lifecycle entries (only with `kind` = `all` or a lifecycle kind). */
  other: number;
}

/** The answer of {@link timeHistogram}. */
export interface Histogram {
  since: number;
  until: number;
  /** Bucket width, a whole number of seconds in ms (the first and last bucket are clipped to the range). */
  bucketMs: number;
  buckets: HistogramBucket[];
  /** Records decoded to answer (partly covered seconds, non-indexed filters). */
  decoded: number;
  /**
   * False when `maxDecoded` was reached: buckets from `cutAt` on are not counted (zero). Narrow the range or
   * use an indexed filter.
   */
  complete: boolean;
  cutAt?: number;
  /** Entries below this index are archived (docs/ledger.md §10): they have no postings and are not counted. */
  archived: number;
}

/** What the histogram reads: the durable size, records, the posting index and the pruned watermark. */
export interface HistogramSource {
  size: number;
  pruned: number;
  /** @throws for an entry that is not a record. */
  record(index: number): LedgerRecord;
  postings: PostingIndex;
}

/** Entry class by index: 1 allow, 2 deny, 0 anything else. Append-only, so a class never changes once known. */
interface ClassCache {
  cls: Uint8Array;
  /** Entries below this index are classified. */
  upto: number;
}
const classCaches = new WeakMap<PostingIndex, ClassCache>();
/** Below this many new entries the cache is extended by decoding them, above by rescanning the postings. */
const DECODE_EXTEND = 20_000;

const ALLOW = 1;
const DENY = 2;

/** The allow/deny class of every entry below `size`, kept per log and extended as it grows. */
function classes(src: HistogramSource, size: number): Uint8Array {
  let c = classCaches.get(src.postings);
  if (!c) {
    c = { cls: new Uint8Array(Math.max(1024, size)), upto: 0 };
    classCaches.set(src.postings, c);
  }
  if (c.upto >= size) return c.cls;
  if (c.cls.length < size) {
    const grown = new Uint8Array(Math.max(size, c.cls.length * 2));
    grown.set(c.cls.subarray(0, c.upto));
    c.cls = grown;
  }
  const from = c.upto;
  if (size - from <= DECODE_EXTEND) {
    for (let i = Math.max(from, src.pruned); i < size; i++) {
      let r: LedgerRecord;
      try {
        r = src.record(i);
      } catch (e) {
        if (e instanceof LedgerError && e.code === 'LEDGER_RECORD_INVALID') continue;
        throw e;
      }
      const d = (r as { decision?: unknown }).decision;
      c.cls[i] = isLifecycleKind(r.kind) ? 0 : d === 'allow' ? ALLOW : d === 'deny' ? DENY : 0;
    }
  } else {
    for (const [value, mark] of [
      ['allow', ALLOW],
      ['deny', DENY],
    ] as const) {
      for (const { indices } of src.postings.lists(KIND.decision, value))
        for (const i of indices) if (i >= from && i < size) c.cls[i] = mark;
    }
  }
  c.upto = size;
  return c.cls;
}

/**
 * Counts entries per time bucket over [since, until] with the given filters, from the indexes.
 * @throws LedgerError `LEDGER_BAD_ARGUMENT` (bad range, bucket count or kind), `LEDGER_CORRUPT` (damaged posting).
 */
export function timeHistogram(src: HistogramSource, q: HistogramQuery): Histogram {
  const { since, until } = q;
  const ms = (v: number) => Number.isSafeInteger(v) && v >= 0;
  if (!ms(since) || !ms(until) || since > until)
    throw new LedgerError('LEDGER_BAD_ARGUMENT', 'since and until must be epoch ms with since ≤ until');
  const want = q.buckets ?? 60;
  if (!Number.isSafeInteger(want) || want < 1 || want > 1000)
    throw new LedgerError('LEDGER_BAD_ARGUMENT', 'buckets must be an integer in [1, 1000]');
  if (q.decision !== undefined && q.decision !== 'allow' && q.decision !== 'deny')
    throw new LedgerError('LEDGER_BAD_ARGUMENT', 'decision must be allow or deny');
  const kind = q.kind;
  if (kind !== undefined && kind !== 'all' && !DECISION_KINDS.has(kind) && !isLifecycleKind(kind))
    throw new LedgerError('LEDGER_BAD_ARGUMENT', `unknown entry kind ${JSON.stringify(kind)}`);
  const maxDecoded = q.maxDecoded ?? 200_000;

  const size = src.size;
  const cls = classes(src, size);
  // Indexed filters: an entry passes when every one of their postings lists it.
  const postings: [string, string][] = [];
  if (q.task !== undefined) postings.push([KIND.task, indexValue(q.task)]);
  if (q.agent !== undefined) postings.push([KIND.agent, indexValue(q.agent)]);
  if (isLifecycleKind(kind)) postings.push([KIND.entry, kind]);
  let marks: Uint8Array | undefined;
  if (postings.length > 0) {
    marks = new Uint8Array(size);
    for (const [k, v] of postings)
      for (const { indices } of src.postings.lists(k, v)) for (const i of indices) if (i < size) marks[i]!++;
  }
  const needMarks = postings.length;
  // A decision-record kind (`decision`, `aggregate`, `dropped`) is not indexed: read on the record.
  const recordKind = kind !== undefined && DECISION_KINDS.has(kind) ? kind : undefined;
  const decodeAll = recordKind !== undefined || q.match !== undefined;

  const bucketMs = 1000 * Math.max(1, Math.ceil((until - since + 1) / (want * 1000)));
  const b0 = Math.floor(since / bucketMs);
  const n = Math.floor(until / bucketMs) - b0 + 1;
  const buckets: HistogramBucket[] = [];
  for (let k = 0; k < n; k++) {
    buckets.push({
      start: Math.max(since, (b0 + k) * bucketMs),
      end: Math.min(until + 1, (b0 + k + 1) * bucketMs),
      allow: 0,
      deny: 0,
      other: 0,
    });
  }
  // Seconds wholly inside the range need no time check; a partly covered second at either end does.
  const fullLo = Math.ceil(since / 1000);
  const fullHi = Math.floor((until + 1) / 1000);
  let decoded = 0;

  /** Counts entry `i` into bucket `b`; `checkTime`: its second is only partly in range. False once cut short. */
  const count = (i: number, b: HistogramBucket | undefined, checkTime: boolean): boolean => {
    if (i >= size || i < src.pruned) return true;
    if (marks && marks[i] !== needMarks) return true;
    const c = cls[i] as number;
    if (kind === undefined || recordKind !== undefined) {
      if (c === 0) return true;
    }
    if (q.decision !== undefined && c !== (q.decision === 'allow' ? ALLOW : DENY)) return true;
    let bucket = b;
    if (checkTime || decodeAll) {
      if (decoded >= maxDecoded) return false;
      decoded++;
      let r: LedgerRecord;
      try {
        r = src.record(i);
      } catch (e) {
        if (e instanceof LedgerError && e.code === 'LEDGER_RECORD_INVALID') return true;
        throw e;
      }
      if (r.ts < since || r.ts > until) return true;
      if (recordKind !== undefined && (r.kind ?? 'decision') !== recordKind) return true;
      if (q.match && !q.match(r)) return true;
      bucket ??= buckets[Math.floor(r.ts / bucketMs) - b0];
    }
    if (!bucket) return true;
    if (c === ALLOW) bucket.allow++;
    else if (c === DENY) bucket.deny++;
    else bucket.other++;
    return true;
  };

  const partial = new Set<number>();
  if (since % 1000 !== 0) partial.add(timeBucket(since));
  if ((until + 1) % 1000 !== 0) partial.add(timeBucket(until));
  /** Counts every candidate; returns where it was cut short (the first bucket not fully counted), if it was. */
  const countAll = (): number | undefined => {
    for (const sec of partial) {
      for (const { indices } of src.postings.lists(KIND.time, sec, sec + 1)) {
        for (const i of indices) if (!count(i, undefined, true)) return buckets[0]?.start;
      }
    }
    for (const b of buckets) {
      const lo = Math.max(fullLo, Math.floor(b.start / 1000));
      const hi = Math.min(fullHi, Math.ceil(b.end / 1000));
      if (lo >= hi) continue;
      for (const { indices } of src.postings.lists(KIND.time, lo, hi)) {
        for (const i of indices) if (!count(i, b, false)) return b.start;
      }
    }
    return undefined;
  };
  const cutAt = countAll();
  if (cutAt !== undefined) {
    // Counts from the cut on are partial: zero them rather than show a misleading lower bound.
    for (const b of buckets) if (b.start >= cutAt) b.allow = b.deny = b.other = 0;
  }
  const out: Histogram = {
    since,
    until,
    bucketMs,
    buckets,
    decoded,
    complete: cutAt === undefined,
    archived: src.pruned,
  };
  if (cutAt !== undefined) out.cutAt = cutAt;
  return out;
}
