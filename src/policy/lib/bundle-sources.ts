/**
 * The Rego a bundle was built from, shipped inside it (docs/policy.md §10 "Sources in the bundle"). `opa build -t
 * wasm` keeps only a stub of each module (package and imports; the rules are compiled into policy.wasm), so
 * `sigil policy build` adds the real sources as one JSON file, `/.sigil/sources.json` = `{path: text}`. The name
 * is not `.rego` (OPA would parse it as a module next to the stubs) nor `data.json` (it would become data): OPA and
 * SIGIL's loader both ignore it.
 */
import { gzipSync } from 'node:zlib';
import { PolicyError } from '../errors.js';
import { DEFAULT_TAR_LIMITS, gunzipCapped, readTar } from './tar.js';

/** Where the sources live in the bundle (a normalized tar path). */
export const SOURCES_PATH = '/.sigil/sources.json';
const BLOCK = 512;

/** One ustar header (POSIX.1-2001 ustar format) for a regular file `name` of `size` bytes. */
function header(name: string, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const put = (text: string, at: number) => h.write(text, at, 'ascii');
  put(name, 0);
  put('0000644\0', 100);
  put('0000000\0', 108);
  put('0000000\0', 116);
  put(`${size.toString(8).padStart(11, '0')}\0`, 124);
  put('00000000000\0', 136);
  put('        ', 148);
  put('0', 156);
  put('ustar\0', 257);
  put('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** Offset of the end-of-archive marker of an uncompressed tar (headers walked by their size field). */
function endOfArchive(tar: Buffer): number {
  let off = 0;
  while (off + BLOCK <= tar.length) {
    const hdr = tar.subarray(off, off + BLOCK);
    if (hdr.every((b) => b === 0)) return off;
    const size = Number.parseInt(hdr.toString('ascii', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
    if (!Number.isSafeInteger(size)) break;
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new PolicyError('POLICY_BUILD_FAILED', 'the bundle opa built is not a tar archive SIGIL can extend');
}

/** Returns `bundle` (gzip'd tar) with `sources` added at {@link SOURCES_PATH}. */
export function addSources(bundle: Uint8Array, sources: Record<string, string>): Buffer {
  const tar = gunzipCapped(bundle, DEFAULT_TAR_LIMITS.maxTotalBytes);
  const end = endOfArchive(tar);
  const body = Buffer.from(JSON.stringify(sources), 'utf8');
  const pad = Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK);
  return gzipSync(
    Buffer.concat([
      tar.subarray(0, end),
      header(SOURCES_PATH.slice(1), body.length),
      body,
      pad,
      Buffer.alloc(2 * BLOCK),
    ]),
  );
}

/**
 * The sources a bundle carries: the shipped ones (`full`) when present and well-formed, else the `.rego` files
 * `opa build` put in it (`stubs` for a Wasm bundle), path → text, in archive order, stopping before the file that
 * would take the total past `maxBytes`. Throws PolicyError (POLICY_BUNDLE_INVALID) on a malformed archive.
 */
export function bundleSources(
  bundle: Uint8Array,
  maxBytes = 2 * 1024 * 1024,
): { files: Record<string, string>; full: boolean } {
  const all = readTar(gunzipCapped(bundle, DEFAULT_TAR_LIMITS.maxTotalBytes));
  const shipped = all.get(SOURCES_PATH);
  if (shipped && shipped.length <= maxBytes) {
    try {
      const doc: unknown = JSON.parse(shipped.toString('utf8'));
      if (
        typeof doc === 'object' &&
        doc !== null &&
        !Array.isArray(doc) &&
        Object.values(doc).every((v) => typeof v === 'string')
      )
        return { files: { ...(doc as Record<string, string>) }, full: true };
    } catch {
      // not JSON: fall back to the archive's own .rego files
    }
  }
  const files: Record<string, string> = {};
  let total = 0;
  for (const [path, body] of all) {
    if (!path.endsWith('.rego')) continue;
    total += body.length;
    if (total > maxBytes) break;
    files[path] = body.toString('utf8');
  }
  return { files, full: false };
}
