/**
 * The write-ahead journal's bytes (docs/ledger.md §3 "Journal"): two header slots, then a ring of frames,
 * each starting on a 4 KiB block. Pure encode/decode; the file and the ring are lib/journal.ts.
 */
import { hash } from 'node:crypto';

/** Blocks are written whole: a frame never shares a block with an earlier, acknowledged one. */
export const BLOCK = 4096;
/** Header slots 0 and 1 (blocks 0 and 1); the ring starts after them. */
export const RING_START = 2 * BLOCK;
/** Largest frame (header + payload, before padding): bigger batches are split into several frames. */
export const MAX_FRAME = 1024 * 1024;

const HEADER_MAGIC = Buffer.from('SIGILJNL', 'latin1');
const FRAME_MAGIC = 0x4a4c4753; // "SGLJ" read as uint32 LE
const VERSION = 1;
/** Header: magic 8, version u32, epoch u32, salt 32, SHA-256 of the 48 bytes before it. */
const HEADER_LEN = 80;
/** Frame header: magic u32, epoch u32, first index (u32 lo, u32 hi), count u32, payload length u32, prev leaf 32, SHA-256 32. */
export const FRAME_HEAD = 88;
const DIGEST_AT = 56;
const HASH_LEN = 32;

const sha256 = (...parts: Uint8Array[]): Buffer => hash('sha256', Buffer.concat(parts), 'buffer');

/** A header: the epoch whose frames are live, and that epoch's random salt (prefixes every frame digest). */
export interface JournalHeader {
  epoch: number;
  salt: Buffer;
}

/** One header slot's block. */
export function encodeHeader(h: JournalHeader): Buffer {
  const b = Buffer.alloc(BLOCK);
  HEADER_MAGIC.copy(b, 0);
  b.writeUInt32LE(VERSION, 8);
  b.writeUInt32LE(h.epoch, 12);
  h.salt.copy(b, 16);
  sha256(b.subarray(0, 48)).copy(b, 48);
  return b;
}

/** A header slot's content, or undefined when the slot is not a valid header (torn, zero, foreign). */
export function decodeHeader(b: Buffer): JournalHeader | undefined {
  if (b.length < HEADER_LEN) return undefined;
  if (!b.subarray(0, 8).equals(HEADER_MAGIC) || b.readUInt32LE(8) !== VERSION) return undefined;
  if (!sha256(b.subarray(0, 48)).equals(b.subarray(48, HEADER_LEN))) return undefined;
  return { epoch: b.readUInt32LE(12), salt: Buffer.from(b.subarray(16, 48)) };
}

/** Bytes a frame of entries with these lengths occupies, padded to whole blocks. */
export function frameSize(payload: number): number {
  return Math.ceil((FRAME_HEAD + payload) / BLOCK) * BLOCK;
}

/** Payload bytes of one entry: u32 length + bytes. */
export const entryCost = (value: Uint8Array): number => 4 + value.length;

/**
 * Encodes one frame: entries `first …` of header `h`'s epoch (its salt prefixes the digest), chained to the leaf hash of entry `first − 1`
 * (zeros for entry 0), padded with zeros to whole blocks. Into `into` when it is big enough (the frame is then
 * a view of it, valid until `into` is reused), else into a new buffer.
 */
export function encodeFrame(
  h: JournalHeader,
  first: number,
  prevLeaf: Uint8Array,
  values: Uint8Array[],
  into?: Buffer,
): Buffer {
  let payload = 0;
  for (const v of values) payload += entryCost(v);
  const size = frameSize(payload);
  const b = into !== undefined && into.length >= size ? into.subarray(0, size) : Buffer.alloc(size);
  // The digest covers salt ‖ the 56 bytes before the digest slot ‖ payload. Those 56 bytes are written after
  // the salt first, so that all three are one range to hash (no concatenated copy); they then move to the
  // frame's start and the digest fills the slot behind them (as long as the salt: FRAME_HEAD − DIGEST_AT).
  const o = FRAME_HEAD - DIGEST_AT;
  if (h.salt.length !== o) throw new Error(`journal salt must be ${o} bytes`);
  h.salt.copy(b, 0);
  b.writeUInt32LE(FRAME_MAGIC, o);
  b.writeUInt32LE(h.epoch, o + 4);
  b.writeUInt32LE(first % 2 ** 32, o + 8);
  b.writeUInt32LE(Math.floor(first / 2 ** 32), o + 12);
  b.writeUInt32LE(values.length, o + 16);
  b.writeUInt32LE(payload, o + 20);
  b.set(prevLeaf, o + 24);
  let at = FRAME_HEAD;
  for (const v of values) {
    b.writeUInt32LE(v.length, at);
    b.set(v, at + 4);
    at += 4 + v.length;
  }
  b.fill(0, at); // the padding (a reused buffer holds an earlier frame)
  // A digest string, not a Buffer: no ArrayBuffer per frame (lib/node-hash.ts says why that matters).
  const digest = hash('sha256', b.subarray(0, at), 'binary');
  b.copyWithin(0, o, FRAME_HEAD);
  for (let i = 0; i < HASH_LEN; i++) b[DIGEST_AT + i] = digest.charCodeAt(i);
  return b;
}

/** A decoded frame. */
export interface Frame {
  /** Byte offset of the frame in the file. */
  at: number;
  /** Bytes it occupies (whole blocks). */
  size: number;
  first: number;
  /** Leaf hash of entry `first − 1` when the frame was written (zeros for entry 0). */
  prevLeaf: Buffer;
  entries: Buffer[];
}

/**
 * The frame of header `h`'s epoch at `at` in `file`, or undefined when there is none: another epoch, a torn or
 * never-written block, lengths that do not add up, or a digest that does not match.
 */
export function decodeFrame(file: Buffer, at: number, h: JournalHeader): Frame | undefined {
  if (at + FRAME_HEAD > file.length) return undefined;
  if (file.readUInt32LE(at) !== FRAME_MAGIC || file.readUInt32LE(at + 4) !== h.epoch) return undefined;
  const first = file.readUInt32LE(at + 8) + file.readUInt32LE(at + 12) * 2 ** 32;
  const count = file.readUInt32LE(at + 16);
  const payload = file.readUInt32LE(at + 20);
  const end = at + FRAME_HEAD + payload;
  if (!Number.isSafeInteger(first + count) || FRAME_HEAD + payload > MAX_FRAME || end > file.length)
    return undefined;
  const body = file.subarray(at + FRAME_HEAD, end);
  const digest = sha256(h.salt, file.subarray(at, at + DIGEST_AT), body);
  if (!digest.equals(file.subarray(at + DIGEST_AT, at + FRAME_HEAD))) return undefined;
  const entries: Buffer[] = [];
  let o = 0;
  while (o < body.length) {
    if (o + 4 > body.length) return undefined;
    const n = body.readUInt32LE(o);
    if (o + 4 + n > body.length) return undefined;
    entries.push(Buffer.from(body.subarray(o + 4, o + 4 + n)));
    o += 4 + n;
  }
  if (entries.length !== count || count === 0) return undefined;
  return {
    at,
    size: frameSize(payload),
    first,
    prevLeaf: Buffer.from(file.subarray(at + 24, at + 24 + HASH_LEN)),
    entries,
  };
}

/** The leaf-hash chain's start: what a frame beginning at entry 0 names as its predecessor. */
export const NO_LEAF = Buffer.alloc(HASH_LEN);
