/**
 * How the ledger stores denies without a verified token (docs/ledger.md §4 "Entry kinds", issue #18 item 4):
 * one `aggregate` entry per (source address, code) and window, carrying the count, the first and last time
 * and the first deny's request as a sample. Keys are bounded per window, so memory is too. While the disk
 * guard says no (or an append fails), windows are only counted, per code, and one `dropped` entry per code
 * records them once entries may be written again.
 */
import { randomUUID } from 'node:crypto';
import {
  type ClaimedTally,
  type DecisionRecord,
  MAX_CLAIMED_PER_AGGREGATE,
  type RecordKind,
} from '../ledger/index.js';

/** Hooks for metrics and logs; each is optional and must not throw. */
export interface UnauthenticatedObserver {
  /** Every unauthenticated deny handed to {@link UnauthenticatedDenies.add}. */
  denied?(code: string): void;
  /** An entry of `kind` was written durably. */
  written?(kind: RecordKind, count: number): void;
  /** `count` denies were only counted because entries may not be written now (the disk guard). */
  dropped?(count: number): void;
  /** An append failed; its `count` denies go to the dropped tally. */
  failed?(error: unknown, count: number): void;
}

/** Options of {@link UnauthenticatedDenies}. */
export interface UnauthenticatedDeniesOptions {
  /** Window length, ms: one entry per (source, code) per window. */
  windowMs: number;
  /** Distinct (source, code) keys per window; further sources are aggregated under the source `*`. */
  maxKeys: number;
  /** Appends one entry durably (MerkleLog.appendDecision). */
  write: (record: DecisionRecord) => Promise<unknown>;
  /** Whether entries may be written now (false while free space is below the reserve). Default: always. */
  mayWrite?: () => boolean;
  observer?: UnauthenticatedObserver;
}

/** The source of the aggregates past the key bound, and the code of a dropped tally past its bound. */
export const OVERFLOW = '*';
/** Distinct codes kept apart in the overflow and in the dropped tally (beyond: code `*`). */
const MAX_CODES = 64;
/** Fields of the first deny copied into its aggregate as the sample. */
const SAMPLE = ['method', 'host', 'path', 'peer', 'tool', 'policy_rev'] as const;

/**
 * Counts the identity `r`'s unverified token claimed into its aggregate (docs/ledger.md §4 "Claimed
 * identities"): up to MAX_CLAIMED_PER_AGGREGATE distinct ones with counts, the rest in `claimed_other`, so an
 * aggregate's memory and size stay bounded whatever a flood claims. A record with claims is version 2.
 */
function tallyClaim(agg: DecisionRecord, r: DecisionRecord): void {
  const c = r.claimed;
  if (c === undefined || Array.isArray(c)) return;
  agg.v = 2;
  agg.claimed ??= [];
  const list = agg.claimed as ClaimedTally[];
  for (const t of list) {
    if (t.sub === c.sub && t.task_id === c.task_id && t.kid === c.kid && t.iss === c.iss) {
      t.count++;
      return;
    }
  }
  if (list.length < MAX_CLAIMED_PER_AGGREGATE) {
    const t: ClaimedTally = { verified: false, count: 1 };
    if (c.sub !== undefined) t.sub = c.sub;
    if (c.task_id !== undefined) t.task_id = c.task_id;
    if (c.kid !== undefined) t.kid = c.kid;
    if (c.iss !== undefined) t.iss = c.iss;
    list.push(t);
  } else agg.claimed_other = (agg.claimed_other ?? 0) + 1;
}

/** The dropped tally of one code. */
interface Tally {
  count: number;
  ts: number;
  last: number;
  status: number;
}

/** Aggregates unauthenticated denies per window and writes them as ledger entries. */
export class UnauthenticatedDenies {
  private open = new Map<string, DecisionRecord>();
  private overflowKeys = 0;
  private readonly tally = new Map<string, Tally>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly o: UnauthenticatedDeniesOptions) {}

  /** Aggregates (source, code) keys open in the current window. */
  get openKeys(): number {
    return this.open.size;
  }

  /** Denies counted but not yet written, by code (the dropped tally). */
  get droppedPending(): number {
    let n = 0;
    for (const t of this.tally.values()) n += t.count;
    return n;
  }

  /**
   * Counts one unauthenticated deny (`r.decision` must be `deny`); `source` is the request's address. Never
   * waits: the aggregate is written when the window ends. The record is not kept, only copied.
   */
  add(r: DecisionRecord, source: string | undefined): void {
    this.o.observer?.denied?.(r.code);
    let src = source ?? OVERFLOW;
    let code = r.code;
    let agg = this.open.get(`${src}\n${code}`);
    if (agg === undefined && this.open.size - this.overflowKeys >= this.o.maxKeys) {
      // Past the bound every further source shares `*`; past MAX_CODES overflow codes, so does the code.
      src = OVERFLOW;
      agg = this.open.get(`${src}\n${code}`);
      if (agg === undefined && this.overflowKeys >= MAX_CODES) {
        code = OVERFLOW;
        agg = this.open.get(`${src}\n${code}`);
      }
      if (agg === undefined) this.overflowKeys++;
    }
    if (agg !== undefined) {
      agg.count = (agg.count as number) + 1;
      if (r.ts > (agg.last_ts as number)) agg.last_ts = r.ts;
      if (r.ts < agg.ts) agg.ts = r.ts;
      tallyClaim(agg, r);
      return;
    }
    agg = {
      v: 1,
      id: r.id,
      ts: r.ts,
      decision: 'deny',
      code,
      http_status: r.http_status,
      kind: 'aggregate',
      count: 1,
      last_ts: r.ts,
      window_ms: this.o.windowMs,
      source: src,
    };
    for (const k of SAMPLE) if (r[k] !== undefined) agg[k] = r[k];
    tallyClaim(agg, r);
    this.open.set(`${src}\n${code}`, agg);
    this.timer ??= setTimeout(() => void this.flush(), this.o.windowMs).unref();
  }

  /**
   * Ends the current window: writes its aggregates (after any dropped entries owed), or adds them to the
   * dropped tally when entries may not be written. Resolves once those appends settled; never rejects.
   * Flushes run one after another.
   */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.open.values()];
    this.open = new Map();
    this.overflowKeys = 0;
    // write() handles its own failures; the catch only keeps one unexpected throw from stopping every later flush.
    this.flushing = this.flushing.then(() => this.write(batch)).catch(() => undefined);
    return this.flushing;
  }

  /** Flushes the last window and stops the timer. */
  close(): Promise<void> {
    return this.flush();
  }

  private async write(batch: DecisionRecord[]): Promise<void> {
    if (batch.length === 0 && this.tally.size === 0) return;
    if (!this.writable()) {
      let n = 0;
      for (const a of batch) {
        this.count(a);
        n += a.count as number;
      }
      if (n > 0) this.o.observer?.dropped?.(n);
      return;
    }
    const owed = [...this.tally].map(([code, t]) => this.droppedEntry(code, t));
    this.tally.clear();
    await Promise.all([...owed, ...batch].map((e) => this.append(e)));
  }

  /** Whether entries may be written now; a guard that throws says no (fail closed, like a failed probe). */
  private writable(): boolean {
    try {
      return this.o.mayWrite?.() ?? true;
    } catch {
      return false;
    }
  }

  private async append(e: DecisionRecord): Promise<void> {
    try {
      await this.o.write(e);
      this.o.observer?.written?.(e.kind as RecordKind, e.count as number);
    } catch (err) {
      this.count(e);
      this.o.observer?.failed?.(err, e.count as number);
    }
  }

  /** Adds an aggregate's (or a dropped entry's) denies to the dropped tally of its code. */
  private count(e: DecisionRecord): void {
    const code = this.tally.has(e.code) || this.tally.size < MAX_CODES ? e.code : OVERFLOW;
    const t = this.tally.get(code);
    const last = e.last_ts as number;
    if (t === undefined) {
      this.tally.set(code, { count: e.count as number, ts: e.ts, last, status: e.http_status });
      return;
    }
    t.count += e.count as number;
    t.ts = Math.min(t.ts, e.ts);
    t.last = Math.max(t.last, last);
  }

  private droppedEntry(code: string, t: Tally): DecisionRecord {
    return {
      v: 1,
      id: randomUUID(),
      ts: t.ts,
      decision: 'deny',
      code,
      http_status: t.status,
      kind: 'dropped',
      count: t.count,
      last_ts: t.last,
    };
  }
}
