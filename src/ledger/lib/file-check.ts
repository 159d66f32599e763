/**
 * Pre-open sanity check of an existing LMDB data file. lmdb-js memory-maps the file, and a garbage or
 * truncated file makes the native code fault (SIGSEGV/SIGBUS) instead of returning an error, so we read
 * both meta pages ourselves first and refuse anything that is not a whole LMDB file. Read-only: a file
 * that fails here is never opened, written or truncated.
 *
 * Meta page layout (lmdb-js 3.x's LMDB fork, mdb.c `MDB_meta`, 64-bit): a 24-byte page header, then
 * mm_magic u32 (0xBEEFC0DE) @24, mm_version u32 @28, mm_address @32, mm_mapsize @40, mm_dbs[0] @48
 * (its md_pad is the page size), mm_dbs[1] @96, mm_last_pg u64 @144, mm_txnid u64 @152.
 * Upstream LMDB uses a 16-byte header; both are recognised.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { LedgerError } from '../errors.js';

const MAGIC = 0xbeefc0de;

/** Errors for a file shorter than its meta page says: a live writer can leave that state for a moment. */
const shortFiles = new WeakSet<object>();

/**
 * True when `e` is {@link checkLmdbFile}'s "file is truncated" error. A writer in another process grows the
 * file while committing, and a reader can see the new meta page before the file's new length, so the caller
 * re-checks for a while before calling the file corrupt (docs/ledger.md §2, "Readers next to a writer").
 */
export const isShortFile = (e: unknown): boolean => typeof e === 'object' && e !== null && shortFiles.has(e);

/** Page size and last page number of the meta page at `hdr` (header size), or null without the magic. */
function readMeta(buf: Buffer, hdr: number): { psize: number; lastPg: bigint } | null {
  if (buf.length < hdr + 136 || buf.readUInt32LE(hdr) !== MAGIC) return null;
  return { psize: buf.readUInt32LE(hdr + 24), lastPg: buf.readBigUInt64LE(hdr + 120) };
}

function read(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  const n = readSync(fd, b, 0, len, pos);
  return b.subarray(0, n);
}

/**
 * Throws `LEDGER_CORRUPT` unless `file` looks like a complete LMDB data file.
 * Returns false when the file does not exist (a new log may be created there).
 */
export function checkLmdbFile(file: string): boolean {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new LedgerError('LEDGER_IO', `${file} is not a regular file`);
    size = st.size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    if (e instanceof LedgerError) throw e;
    throw new LedgerError('LEDGER_IO', `cannot stat ${file}: ${(e as Error).message}`, e);
  }
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new LedgerError('LEDGER_IO', `cannot read ${file}: ${(e as Error).message}`, e);
  }
  try {
    const corrupt = (why: string) =>
      new LedgerError('LEDGER_CORRUPT', `${file} is not a valid ledger file: ${why}`);
    const head = read(fd, 0, 256);
    let hdr = 24;
    let m0 = readMeta(head, hdr);
    if (!m0) {
      hdr = 16;
      m0 = readMeta(head, hdr);
    }
    if (!m0) throw corrupt('no LMDB meta page (bad magic)');
    const { psize } = m0;
    if (psize < 512 || psize > 65536 || (psize & (psize - 1)) !== 0) throw corrupt(`bad page size ${psize}`);
    const m1 = readMeta(read(fd, psize, 256), hdr);
    if (!m1) throw corrupt('second meta page is damaged');
    // biome-ignore lint/complexity/useMathMinMax: operands are bigints
    const last = m0.lastPg > m1.lastPg ? m0.lastPg : m1.lastPg;
    const need = (last + 1n) * BigInt(psize);
    if (BigInt(size) < need) {
      const e = corrupt(`file is truncated (${size} bytes, meta says ${need})`);
      shortFiles.add(e);
      throw e;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}
