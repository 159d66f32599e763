/**
 * Minimal reader for the gzip'd tar files `opa build` writes (POSIX ustar, IEEE Std 1003.1-2001 §pax "ustar
 * Interchange Format"; gzip RFC 1952). Only what bundles need: regular files, directories, pax `path`/`size`
 * records and GNU long names. Everything else is refused, because a bundle comes from the network and is
 * attacker-controlled input: no links, no devices, no `..`, no duplicate paths, hard size caps.
 */
import { gunzipSync } from 'node:zlib';
import { failWith } from '../errors.js';

/** Caps applied while reading; exceeding any of them rejects the bundle. */
export interface TarLimits {
  /** Largest decompressed archive, bytes. */
  maxTotalBytes: number;
  /** Largest single entry, bytes. */
  maxEntryBytes: number;
  /** Most entries (files + directories + headers). */
  maxEntries: number;
}

/** Defaults: generous for real bundles (policy.wasm is ~0.4 MB, data rarely > a few MB), small enough for a sidecar. */
export const DEFAULT_TAR_LIMITS: TarLimits = {
  maxTotalBytes: 64 * 1024 * 1024,
  maxEntryBytes: 32 * 1024 * 1024,
  maxEntries: 10_000,
};

const BLOCK = 512;

const invalid = failWith('POLICY_BUNDLE_INVALID', 'bundle: ');

/** NUL-terminated ASCII/UTF-8 field. */
function cstr(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

/** Octal numeric field (ustar §numeric fields). Base-256 (GNU) values are refused: nothing that large is valid here. */
function octal(buf: Buffer, start: number, len: number, what: string): number {
  if ((buf[start]! & 0x80) !== 0) throw invalid(`${what} uses base-256 encoding (too large)`);
  const s = cstr(buf, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw invalid(`${what} is not an octal number`);
  const n = Number.parseInt(s, 8);
  if (!Number.isSafeInteger(n)) throw invalid(`${what} out of range`);
  return n;
}

/**
 * Normalizes an archive path to `/a/b` form. Leading `/` and `./` are fine (OPA writes `/policy.wasm`);
 * `..` segments, backslashes, NUL and empty names are path traversal or garbage and are refused.
 */
function normalizeEntryPath(raw: string): string {
  if (raw.length === 0 || raw.length > 4096) throw invalid('entry with empty or oversize name');
  if (raw.includes('\0') || raw.includes('\\'))
    throw invalid(`entry name ${JSON.stringify(raw)} has forbidden characters`);
  const parts: string[] = [];
  for (const seg of raw.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw invalid(`path traversal in entry name ${JSON.stringify(raw)}`);
    parts.push(seg);
  }
  if (parts.length === 0) throw invalid(`entry name ${JSON.stringify(raw)} names no file`);
  return `/${parts.join('/')}`;
}

/** Parses pax extended header records: "<len> <key>=<value>\n" (pax §extended header). */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp === -1) throw invalid('malformed pax header');
    const len = Number.parseInt(data.toString('ascii', off, sp), 10);
    if (!Number.isSafeInteger(len) || len <= sp - off || off + len > data.length)
      throw invalid('malformed pax record length');
    const rec = data.toString('utf8', sp + 1, off + len - 1);
    const eq = rec.indexOf('=');
    if (eq === -1 || data[off + len - 1] !== 0x0a) throw invalid('malformed pax record');
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    off += len;
  }
  return out;
}

/** Decompresses a gzip stream with an output cap. */
export function gunzipCapped(bytes: Uint8Array, maxBytes: number): Buffer {
  if (bytes.length < 18 || bytes[0] !== 0x1f || bytes[1] !== 0x8b)
    throw invalid('not gzip data (RFC 1952 magic 1f 8b missing)');
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err instanceof RangeError || err.code === 'ERR_BUFFER_TOO_LARGE') {
      throw invalid(`decompressed size exceeds ${maxBytes} bytes`, e);
    }
    throw invalid(`gzip stream is corrupt or truncated (${err.message})`, e);
  }
}

/**
 * Reads every regular file of a tar archive into a map keyed by normalized path (`/data.json`).
 * Throws POLICY_BUNDLE_INVALID on truncation, bad checksums, unsupported entry types, traversal,
 * duplicates and cap violations.
 */
export function readTar(tar: Buffer, limits: TarLimits = DEFAULT_TAR_LIMITS): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let off = 0;
  let entries = 0;
  let total = 0;
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  for (;;) {
    if (off + BLOCK > tar.length) throw invalid('tar archive is truncated (no end-of-archive marker)');
    const hdr = tar.subarray(off, off + BLOCK);
    if (hdr.every((b) => b === 0)) break; // end-of-archive: first of the two zero blocks
    if (++entries > limits.maxEntries) throw invalid(`more than ${limits.maxEntries} tar entries`);
    // Header checksum: sum of all header bytes with the checksum field read as spaces (ustar §header).
    const want = octal(hdr, 148, 8, 'header checksum');
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : hdr[i]!;
    if (sum !== want) throw invalid(`tar header checksum mismatch at offset ${off} (not a tar archive?)`);
    const type = String.fromCharCode(hdr[156]!);
    let size = octal(hdr, 124, 12, 'entry size');
    if (pax?.has('size')) {
      size = Number(pax.get('size'));
      if (!Number.isSafeInteger(size) || size < 0) throw invalid('bad pax size');
    }
    if (size > limits.maxEntryBytes)
      throw invalid(`tar entry of ${size} bytes exceeds the ${limits.maxEntryBytes}-byte cap`);
    total += size;
    if (total > limits.maxTotalBytes) throw invalid(`tar contents exceed ${limits.maxTotalBytes} bytes`);
    const dataStart = off + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > tar.length) throw invalid('tar archive is truncated (entry data cut short)');
    const data = tar.subarray(dataStart, dataEnd);
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    const prefix = hdr.toString('ascii', 257, 262) === 'ustar' ? cstr(hdr, 345, 155) : '';
    const headerName = (prefix ? `${prefix}/` : '') + cstr(hdr, 0, 100);
    switch (type) {
      case 'x':
        pax = paxRecords(data);
        continue;
      case 'g': // global pax header: nothing in it matters for bundles
        continue;
      case 'L':
        longName = cstr(data, 0, data.length);
        continue;
      case '5':
        normalizeEntryPath(pax?.get('path') ?? longName ?? headerName);
        break;
      case '0':
      case '\0': {
        const path = normalizeEntryPath(pax?.get('path') ?? longName ?? headerName);
        if (files.has(path)) throw invalid(`duplicate entry ${path}`);
        files.set(path, Buffer.from(data));
        break;
      }
      default:
        throw invalid(
          `unsupported tar entry type ${JSON.stringify(type)} for ${JSON.stringify(headerName)} (links and devices are refused)`,
        );
    }
    longName = undefined;
    pax = undefined;
  }
  return files;
}
