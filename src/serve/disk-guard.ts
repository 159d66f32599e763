/**
 * The disk guard (docs/ledger.md §4 "Disk guard", issue #18 item 4): measures the free space of the data
 * dir's filesystem and says when it is below the reserve (`sigil.audit.min_free_bytes`), so that the
 * unauthenticated channel stops writing and leaves the reserve to authenticated decisions.
 */
import { statfsSync } from 'node:fs';

/** Space on a filesystem, bytes. */
export interface DiskSpace {
  /** Bytes an unprivileged process may still allocate (statfs `f_bavail × f_bsize`). */
  free: number;
  /** Size of the filesystem (`f_blocks × f_bsize`). */
  size: number;
}

/** Measures the filesystem holding `dir`. @throws when it cannot. */
export type DiskProbe = (dir: string) => DiskSpace;

/** The real probe: statfs(2) of `dir` (node:fs `statfsSync`). */
export const statfsProbe: DiskProbe = (dir) => {
  const s = statfsSync(dir);
  return { free: s.bavail * s.bsize, size: s.blocks * s.bsize };
};

/** Free space to keep: bytes, or a percentage of the filesystem size. */
export type DiskReserve = { bytes: number } | { percent: number };

/** Options of {@link DiskGuard}. */
export interface DiskGuardOptions {
  /** A directory on the filesystem to watch (the data dir). */
  dir: string;
  reserve: DiskReserve;
  /** Default {@link statfsProbe}; tests inject a fake disk. */
  probe?: DiskProbe;
  /** Also probe every `intervalMs` (unref'd timer; 0 = only on {@link DiskGuard.check}). Default 1000. */
  intervalMs?: number;
  /** After every probe: free bytes (NaN when the probe failed) and whether space is low. Must not throw. */
  onProbe?(free: number, low: boolean): void;
  /**
   * When the state changes (and on the first probe when it finds space low): once per transition, not per
   * request. `error` is set when the probe failed (space is then unknown, and treated as low).
   */
  onChange?(low: boolean, state: { free: number; reserve: number; error?: unknown }): void;
}

/** Watches free space against a reserve. */
export class DiskGuard {
  private isLow: boolean | undefined;
  private lastFree = Number.NaN;
  private lastReserve = 0;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: DiskGuardOptions) {
    const every = o.intervalMs ?? 1000;
    if (every > 0) this.timer = setInterval(() => this.check(), every).unref();
  }

  /** Free bytes at the last probe (NaN before the first or after a failed one). */
  get free(): number {
    return this.lastFree;
  }

  /** The reserve in bytes at the last probe. */
  get reserve(): number {
    return this.lastReserve;
  }

  /** Whether space was low at the last probe (probes now if there was none). */
  get low(): boolean {
    return this.isLow ?? this.check();
  }

  /**
   * Probes now and returns whether free space is below the reserve. A probe that fails counts as low
   * (fail closed: only the unauthenticated channel depends on it).
   */
  check(): boolean {
    let low: boolean;
    let error: unknown;
    try {
      const { free, size } = (this.o.probe ?? statfsProbe)(this.o.dir);
      const r = this.o.reserve;
      this.lastReserve = 'bytes' in r ? r.bytes : Math.ceil((size * r.percent) / 100);
      this.lastFree = free;
      low = !(free >= this.lastReserve);
    } catch (e) {
      error = e;
      this.lastFree = Number.NaN;
      low = true;
    }
    const changed = low !== (this.isLow ?? false);
    this.isLow = low;
    this.o.onProbe?.(this.lastFree, low);
    if (changed)
      this.o.onChange?.(low, {
        free: this.lastFree,
        reserve: this.lastReserve,
        ...(error !== undefined ? { error } : {}),
      });
    return low;
  }

  /** Stops the interval probe. */
  close(): void {
    clearInterval(this.timer);
  }
}
