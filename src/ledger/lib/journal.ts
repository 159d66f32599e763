/**
 * The write-ahead journal of `durability: journal` (docs/ledger.md §3 "Journal"): an append resolves once
 * its frame is on disk in `<dir>/ledger.journal` (one `pwrite` on an `O_DSYNC` file that was zero-filled
 * and fsynced when created, so no metadata changes with it), while LMDB commits the same entries every few
 * ms behind it. Every writable open replays the frames LMDB does not hold yet; the ring's space is reused
 * once LMDB holds its entries durably.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  write,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { LedgerError } from '../errors.js';
import {
  BLOCK,
  decodeFrame,
  decodeHeader,
  encodeFrame,
  encodeHeader,
  entryCost,
  FRAME_HEAD,
  type Frame,
  frameSize,
  type JournalHeader,
  MAX_FRAME,
  NO_LEAF,
  RING_START,
} from './journal-format.js';
import { nodeHashLeaf } from './node-hash.js';

/** The journal file inside the ledger directory. */
export const JOURNAL_FILE = 'ledger.journal';
/** Default file size: ~4000 single-decision frames, seconds of LMDB commits at 1000 decisions/s. */
export const JOURNAL_BYTES = 16 * 1024 * 1024;
/**
 * Default ms LMDB trails the journal (a batch's first append to its LMDB commit). Each LMDB commit costs a
 * write-thread run and two flushes whatever its size, so below saturation fewer of them is less CPU per
 * decision (bench/NOTES.md "session 37"); proofs and checkpoints wait this long for an entry.
 */
export const JOURNAL_COMMIT_DELAY_MS = 100;
/** Frames up to this size are encoded in the writer's kept buffer (a sidecar's frames are a few blocks). */
const KEPT_FRAME_BYTES = 256 * 1024;
/** Largest `commitDelayMs` accepted (tests hold LMDB back with it). */
export const MAX_COMMIT_DELAY_MS = 600_000;

/** A journal's live content: its header and its frames of that epoch, in file order. */
export interface JournalContent {
  header: JournalHeader;
  /** Header slot the header was read from. */
  slot: number;
  /** File size in bytes. */
  bytes: number;
  frames: Frame[];
}

const corrupt = (path: string, why: string): LedgerError =>
  new LedgerError('LEDGER_CORRUPT', `journal ${path}: ${why}; the log and the journal are left as they are`);

/**
 * Reads a journal: the valid header with the highest epoch and every intact frame of that epoch. Undefined
 * when there is no file. @throws LedgerError `LEDGER_CORRUPT` (no valid header: the file is not a journal,
 * or both slots are damaged), `LEDGER_IO`.
 */
export function readJournal(path: string): JournalContent | undefined {
  if (!existsSync(path)) return undefined;
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (e) {
    throw new LedgerError('LEDGER_IO', `cannot read journal ${path}: ${(e as Error).message}`, e);
  }
  let best: { header: JournalHeader; slot: number } | undefined;
  for (const slot of [0, 1]) {
    const header = file.length >= RING_START ? decodeHeader(file.subarray(slot * BLOCK)) : undefined;
    if (header && (!best || header.epoch > best.header.epoch)) best = { header, slot };
  }
  if (!best) throw corrupt(path, 'no valid header (not a SIGIL journal, or both header blocks are damaged)');
  const frames: Frame[] = [];
  // A frame starts on a block; after one, the scan resumes at its end. Blocks of older epochs, of frames
  // the ring partly overwrote, and of a write a crash tore fail the epoch or digest check and are skipped.
  for (let at = RING_START; at + FRAME_HEAD <= file.length; ) {
    const f = decodeFrame(file, at, best.header);
    if (f) frames.push(f);
    at += f ? f.size : BLOCK;
  }
  return { ...best, bytes: file.length, frames };
}

/**
 * The journaled entries a log of `size` entries lacks, in index order (docs/ledger.md §3 "Recovery"). Every
 * frame must agree with the log where they overlap: its entries below `size` equal the log's (`leafAt`
 * reads a leaf hash) and it names the leaf hash of the entry before it. The frames reaching past `size`
 * must form one run that starts at or below it, each following the one before. Anything else — a gap, a
 * fork (the log lost an acknowledged entry), a journal of another log — throws.
 * @throws LedgerError `LEDGER_CORRUPT`.
 */
export function entriesToReplay(
  path: string,
  frames: readonly Frame[],
  size: number,
  leafAt: (index: number) => Uint8Array,
): Buffer[] {
  const sorted = [...frames].sort((a, b) => a.first - b.first);
  const leaves = new Map<Frame, Buffer[]>();
  for (const f of sorted) {
    const own = f.entries.map((e) => nodeHashLeaf(e));
    leaves.set(f, own);
    if (f.first > size) continue;
    if (!f.prevLeaf.equals(f.first === 0 ? NO_LEAF : leafAt(f.first - 1)))
      throw corrupt(path, `the frame at entry ${f.first} does not follow the log's entry ${f.first - 1}`);
    for (let i = 0; i < own.length && f.first + i < size; i++) {
      if (!(own[i] as Buffer).equals(leafAt(f.first + i)))
        throw corrupt(
          path,
          `entry ${f.first + i} differs from the log's: the log lost an acknowledged entry`,
        );
    }
  }
  const live = sorted.filter((f) => f.first + f.entries.length > size);
  const out: Buffer[] = [];
  const head = live[0];
  if (!head) return out;
  if (head.first > size)
    throw corrupt(
      path,
      `its entries start at ${head.first} but the log has ${size}: entries in between are missing`,
    );
  let next = head.first;
  let prev: Uint8Array = head.prevLeaf;
  for (const f of live) {
    if (f.first !== next)
      throw corrupt(path, `a frame starts at entry ${f.first} where ${next} was expected`);
    if (!f.prevLeaf.equals(prev))
      throw corrupt(
        path,
        `the frame at entry ${f.first} does not follow the leaf hash of entry ${f.first - 1}`,
      );
    const own = leaves.get(f) as Buffer[];
    for (let i = 0; i < f.entries.length; i++) if (next++ >= size) out.push(f.entries[i] as Buffer);
    prev = own[own.length - 1] as Buffer;
  }
  return out;
}

/** Creates a zero-filled journal of `bytes` under a temporary name, fsyncs it and renames it into place. */
function createFile(path: string, bytes: number): void {
  const tmp = `${path}.new`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
  try {
    const zeros = Buffer.alloc(Math.min(bytes, 1024 * 1024));
    for (let at = 0; at < bytes; at += zeros.length)
      writeSync(fd, zeros, 0, Math.min(zeros.length, bytes - at), at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(path);
}

function syncDir(path: string): void {
  const fd = openSync(dirname(path), constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Deletes a journal whose entries the log now holds durably (the log left `durability: journal`). */
export function removeJournal(path: string): void {
  if (!existsSync(path)) return;
  unlinkSync(path);
  syncDir(path);
}

/** Who waits for a journaled entry: resolved with the index, or index and leaf hash. */
export interface JournalWaiter {
  resolve: (v: number | { index: number; leafHash: Uint8Array }) => void;
  leaf: boolean;
  /**
   * Set here, when the entry's frame is encoded, to the RFC 6962 leaf hash of its bytes (the frame chain needs
   * it): the LMDB commit of the same bytes takes it instead of hashing them a second time.
   */
  leafHash: Buffer | undefined;
}

interface Item {
  index: number;
  value: Buffer;
  waiter: JournalWaiter;
}

/** A written frame still holding entries LMDB may not have durably: its blocks are not reused yet. */
interface Held {
  at: number;
  end: number;
  /** Index after its last entry. */
  until: number;
}

/**
 * Appends frames to the ring, one `pwrite` at a time (the next frame carries everything queued meanwhile:
 * group commit), and resolves each entry's waiter once its frame is written. Entries LMDB already holds
 * durably when their turn comes are skipped (their waiters were resolved by the commit). When the ring has
 * no room, entries wait for LMDB, never for the journal: the commit resolves them.
 */
export class JournalWriter {
  private queue: Item[] = [];
  private scheduled = false;
  private writing: Promise<void> | undefined;
  private held: Held[] = [];
  private head = RING_START;
  /** Entries below this are in LMDB durably (reported by {@link durableUpTo}). */
  private durable: number;
  /** The index the next frame must start at, and the leaf hash of the entry before it. */
  private next: number;
  private prevLeaf: Uint8Array;
  /**
   * Where frames are encoded: one write is in flight at a time, so one buffer serves every frame up to
   * {@link KEPT_FRAME_BYTES} (a larger frame gets a buffer of its own). No ArrayBuffer per frame.
   */
  private frameBuf = Buffer.alloc(2 * BLOCK);
  private stopped = false;
  /** Set when a write failed: the journal is not used any more; appends resolve at LMDB durability. */
  error: Error | undefined;
  /** Called once, with {@link error}. */
  onError: ((e: Error) => void) | undefined;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly header: JournalHeader,
    private readonly bytes: number,
    size: number,
    prevLeaf: Uint8Array,
  ) {
    this.durable = size;
    this.next = size;
    this.prevLeaf = prevLeaf;
  }

  /**
   * Starts a new epoch on the journal at `path` (created when absent, or of another size), for a log of
   * `size` entries that holds everything journaled so far durably; `prevLeaf` is the leaf hash of entry
   * `size − 1`. The new header goes to the slot the current one is not in, so a torn header write leaves
   * the old one. @throws LedgerError `LEDGER_IO`.
   */
  static start(
    path: string,
    o: { bytes: number; size: number; prevLeaf: Uint8Array; current: JournalContent | undefined },
  ): JournalWriter {
    try {
      let current = o.current;
      if (current && current.bytes !== o.bytes) {
        removeJournal(path);
        current = undefined;
      }
      if (!current) createFile(path, o.bytes);
      const header = { epoch: current ? current.header.epoch + 1 : 1, salt: randomBytes(32) };
      const fd = openSync(path, constants.O_RDWR | constants.O_DSYNC);
      writeSync(fd, encodeHeader(header), 0, BLOCK, (current ? 1 - current.slot : 0) * BLOCK);
      return new JournalWriter(path, fd, header, o.bytes, o.size, o.prevLeaf);
    } catch (e) {
      throw new LedgerError('LEDGER_IO', `cannot start journal ${path}: ${(e as Error).message}`, e);
    }
  }

  /** Queues entry `index` (the next one assigned); its frame is written on the next turn. */
  add(index: number, value: Buffer, waiter: JournalWaiter): void {
    if (this.stopped || this.error) return;
    this.queue.push({ index, value, waiter });
    this.schedule();
  }

  /** LMDB holds entries below `size` durably: their blocks may be reused, their queued items skipped. */
  durableUpTo(size: number): void {
    if (size <= this.durable) return;
    this.durable = size;
    while (this.held.length > 0 && (this.held[0] as Held).until <= size) this.held.shift();
    if (this.queue.length > 0) this.schedule();
  }

  /** No more frames (the log closed, or a commit failed and the journal must stay as it is for recovery). */
  stop(): void {
    this.stopped = true;
    this.queue = [];
  }

  /** Stops, waits for the write in flight and closes the file. */
  async close(): Promise<void> {
    this.stop();
    await this.writing;
    try {
      closeSync(this.fd);
    } catch {
      /* every write was synchronous (O_DSYNC): nothing is left to flush */
    }
  }

  private fail(e: Error): void {
    this.error = e;
    this.queue = [];
    try {
      this.onError?.(e);
    } catch {
      /* a listener must not break the log */
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Where a frame of `size` bytes fits in the ring now, or undefined. */
  private place(size: number): number | undefined {
    const oldest = this.held[0];
    if (!oldest)
      return this.head + size <= this.bytes
        ? this.head
        : RING_START + size <= this.bytes
          ? RING_START
          : undefined;
    if (this.head >= oldest.end) {
      if (this.head + size <= this.bytes) return this.head;
      return RING_START + size <= oldest.at ? RING_START : undefined;
    }
    return this.head + size <= oldest.at ? this.head : undefined;
  }

  private flush(): void {
    if (this.writing || this.stopped || this.error) return;
    // Entries LMDB holds already need no frame; the chain continues from the last of them.
    let skip = 0;
    while (skip < this.queue.length && (this.queue[skip] as Item).index < this.durable) skip++;
    if (skip > 0) {
      this.prevLeaf = nodeHashLeaf((this.queue[skip - 1] as Item).value);
      this.next = (this.queue[skip - 1] as Item).index + 1;
      this.queue = this.queue.slice(skip);
    }
    const first = this.queue[0];
    if (!first) return;
    if (first.index !== this.next) {
      // Never expected: entries reach the journal in index order. Stop using it rather than write a gap.
      this.fail(new Error(`journal expected entry ${this.next}, got ${first.index}`));
      return;
    }
    let n = 0;
    let payload = 0;
    while (
      n < this.queue.length &&
      (n === 0 || FRAME_HEAD + payload + entryCost((this.queue[n] as Item).value) <= MAX_FRAME)
    ) {
      payload += entryCost((this.queue[n] as Item).value);
      n++;
    }
    const items = this.queue.slice(0, n);
    const size = frameSize(payload);
    if (size > this.frameBuf.length && size <= KEPT_FRAME_BYTES) this.frameBuf = Buffer.alloc(size);
    const frame = encodeFrame(
      this.header,
      first.index,
      this.prevLeaf,
      items.map((i) => i.value),
      this.frameBuf,
    );
    const at = this.place(frame.length);
    if (at === undefined) return; // no room: wait for durableUpTo (the commit resolves these meanwhile)
    this.queue = this.queue.slice(n);
    const leaves = items.map((i) => nodeHashLeaf(i.value));
    for (let i = 0; i < n; i++) (items[i] as Item).waiter.leafHash = leaves[i];
    this.writing = new Promise<void>((done) => {
      write(this.fd, frame, 0, frame.length, at, (err) => {
        this.writing = undefined;
        done();
        if (err) {
          this.fail(err);
          return;
        }
        const until = first.index + n;
        this.head = at + frame.length;
        if (until > this.durable) this.held.push({ at, end: this.head, until });
        for (let i = 0; i < n; i++) {
          const { index, waiter } = items[i] as Item;
          waiter.resolve(waiter.leaf ? { index, leafHash: new Uint8Array(leaves[i] as Buffer) } : index);
        }
        if (this.queue.length > 0) this.schedule();
      });
    });
    this.next = first.index + n;
    this.prevLeaf = leaves[n - 1] as Buffer;
  }
}
