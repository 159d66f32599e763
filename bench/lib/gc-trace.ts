/**
 * Reads V8's `--trace-gc-nvp` lines from a child's stdout: how much the process allocated and how often,
 * and for how long, it collected. Node 20 exposes no cumulative allocation counter, but every GC line
 * carries `allocated=` (bytes allocated since the previous GC), so their sum over a window is the window's
 * allocation to within one young generation (a few MB against hundreds in a measured window).
 */
import type { Readable } from 'node:stream';

/** Totals since the child started; subtract two snapshots for a window. */
export interface GcTotals {
  /** Young-generation collections (`gc=s`). */
  scavenges: number;
  /** Their summed pause, ms. */
  scavengeMs: number;
  /** Full collections (`gc=mc`, `gc=mmc`, ...: anything but a scavenge). */
  majors: number;
  majorMs: number;
  /** Bytes allocated, summed over every GC line. */
  allocated: number;
  /** Bytes scavenges moved to the old generation: what the next full collection has to deal with. */
  promoted: number;
}

/** The V8 flag that makes a Node process print the lines {@link GcTrace} reads. */
export const GC_TRACE_FLAG = '--trace-gc-nvp';

// The prefix is `[pid:isolate]` up to V8 12 (Node 20, 22) and `[pid:isolate:id]` from V8 13 (Node 24).
const LINE =
  /^\[(\d+:0x[0-9a-f]+(?::\d+)?)\].*?\bpause=([\d.]+) .*?\bgc=(\w+)\b.*?\ballocated=(\d+) promoted=(\d+)\b/;

/** One parsed GC line. `isolate` is V8's `pid:address` (V8 13: `pid:address:id`) prefix. */
export interface GcLine {
  isolate: string;
  kind: string;
  pauseMs: number;
  allocated: number;
  promoted: number;
}

/** Parses one `--trace-gc-nvp` line; undefined for any other line (the child's own logs share stdout). */
export function parseGcLine(line: string): GcLine | undefined {
  const m = LINE.exec(line);
  return m
    ? { isolate: m[1]!, kind: m[3]!, pauseMs: Number(m[2]), allocated: Number(m[4]), promoted: Number(m[5]) }
    : undefined;
}

/**
 * Follows a child's stdout and keeps running totals per isolate. `sigil serve` re-executes itself at start-up
 * (`process.execve`: same pid and stdout, a new isolate), so the main thread's isolate is the newest one whose
 * V8 13 prefix ends in `:0` (a main thread's id; workers count up from 1); with V8 12 and older prefixes (no id),
 * the one that has allocated the most so far (worker threads allocate little). Take a window's first snapshot
 * after a warm-up, so both snapshots follow the same isolate.
 */
export class GcTrace {
  #byIsolate = new Map<string, GcTotals>();
  #newestMain: string | undefined;
  #partial = '';

  constructor(stdout: Readable) {
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => {
      const lines = (this.#partial + chunk).split('\n');
      this.#partial = lines.pop() ?? '';
      for (const l of lines) this.#add(l);
    });
  }

  #add(line: string): void {
    const gc = parseGcLine(line);
    if (!gc) return;
    let t = this.#byIsolate.get(gc.isolate);
    if (!t) {
      t = { scavenges: 0, scavengeMs: 0, majors: 0, majorMs: 0, allocated: 0, promoted: 0 };
      this.#byIsolate.set(gc.isolate, t);
      if (gc.isolate.endsWith(':0')) this.#newestMain = gc.isolate;
    }
    t.allocated += gc.allocated;
    if (gc.kind === 's') {
      t.promoted += gc.promoted;
      t.scavenges++;
      t.scavengeMs += gc.pauseMs;
    } else {
      t.majors++;
      t.majorMs += gc.pauseMs;
    }
  }

  /** A copy of the main isolate's totals so far. */
  snapshot(): GcTotals {
    let main: GcTotals = { scavenges: 0, scavengeMs: 0, majors: 0, majorMs: 0, allocated: 0, promoted: 0 };
    const newest = this.#newestMain === undefined ? undefined : this.#byIsolate.get(this.#newestMain);
    if (newest) return { ...newest };
    for (const t of this.#byIsolate.values()) if (t.allocated > main.allocated) main = t;
    return { ...main };
  }
}

/** `b - a`, field by field. */
export function gcDelta(a: GcTotals, b: GcTotals): GcTotals {
  return {
    scavenges: b.scavenges - a.scavenges,
    scavengeMs: b.scavengeMs - a.scavengeMs,
    majors: b.majors - a.majors,
    majorMs: b.majorMs - a.majorMs,
    allocated: b.allocated - a.allocated,
    promoted: b.promoted - a.promoted,
  };
}
