/**
 * The shared table of malformed bundles every bundle parser must reject with POLICY_BUNDLE_INVALID
 * (noble style: one table, used by the loader test, the engine's hot-reload test and the CLI test).
 */
import { gzipSync } from 'node:zlib';
import type { LoadBundleOptions } from '../../src/policy/index.js';
import { makeTar, makeTarGz } from './support.js';

/** Parts of a real bundle the cases are built from. */
export interface ValidParts {
  /** A real policy.wasm from `opa build -t wasm -e envoy/authz/allow`. */
  wasm: Buffer;
  /** The real bundle bytes. */
  bundle: Buffer;
}

/** One malformed bundle. */
export interface MalformedBundle {
  name: string;
  build: (v: ValidParts) => Buffer;
  /** What the error message must mention. */
  message: RegExp;
  options?: LoadBundleOptions;
}

const manifest = JSON.stringify({
  revision: 'r1',
  roots: [''],
  wasm: [{ entrypoint: 'envoy/authz/allow', module: '/policy.wasm' }],
});

/** A tiny but valid Wasm module with no OPA ABI (magic + version only). */
const EMPTY_WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

export const MALFORMED_BUNDLES: readonly MalformedBundle[] = [
  { name: 'empty file', build: () => Buffer.alloc(0), message: /not gzip/ },
  {
    name: 'random bytes',
    build: () => Buffer.from('this is not a bundle at all, just text'),
    message: /not gzip/,
  },
  {
    name: 'uncompressed tar',
    build: (v) => makeTar([{ name: '/policy.wasm', data: v.wasm }]),
    message: /not gzip/,
  },
  {
    name: 'gzip of text (not tar)',
    build: () => gzipSync(Buffer.alloc(2048, 'x')),
    message: /header checksum/,
  },
  {
    name: 'gzip stream cut in half',
    build: (v) => v.bundle.subarray(0, Math.floor(v.bundle.length / 2)),
    message: /corrupt or truncated/,
  },
  {
    name: 'tar without end-of-archive marker',
    build: (v) => makeTarGz([{ name: '/policy.wasm', data: v.wasm }], true),
    message: /truncated/,
  },
  {
    name: 'entry data cut short',
    build: (v) =>
      makeTarGz([{ name: '/policy.wasm', data: v.wasm.subarray(0, 100), size: v.wasm.length }], true),
    message: /truncated/,
  },
  {
    name: 'missing policy.wasm',
    build: () =>
      makeTarGz([
        { name: '/data.json', data: '{}' },
        { name: '/.manifest', data: '{}' },
      ]),
    message: /missing \/policy\.wasm/,
  },
  {
    name: 'manifest names a module that is absent',
    build: (v) =>
      makeTarGz([
        { name: '/policy.wasm', data: v.wasm },
        {
          name: '/.manifest',
          data: JSON.stringify({ wasm: [{ entrypoint: 'envoy/authz/allow', module: '/other.wasm' }] }),
        },
      ]),
    message: /missing \/other\.wasm/,
  },
  {
    name: 'manifest with two Wasm modules',
    build: (v) =>
      makeTarGz([
        { name: '/policy.wasm', data: v.wasm },
        { name: '/b.wasm', data: v.wasm },
        {
          name: '/.manifest',
          data: JSON.stringify({
            wasm: [
              { entrypoint: 'envoy/authz/allow', module: '/policy.wasm' },
              { entrypoint: 'x/y', module: '/b.wasm' },
            ],
          }),
        },
      ]),
    message: /2 Wasm modules/,
  },
  {
    name: 'policy.wasm is not Wasm',
    build: () => makeTarGz([{ name: '/policy.wasm', data: 'not wasm' }]),
    message: /not a valid WebAssembly module/,
  },
  {
    name: 'Wasm without the OPA ABI',
    build: () => makeTarGz([{ name: '/policy.wasm', data: EMPTY_WASM }]),
    message: /lacks the OPA Wasm ABI/,
  },
  {
    name: 'data.json is not JSON',
    build: (v) =>
      makeTarGz([
        { name: '/policy.wasm', data: v.wasm },
        { name: '/data.json', data: '{"a": ' },
      ]),
    message: /data\.json is not valid JSON/,
  },
  {
    name: 'data.json holds an array',
    build: (v) =>
      makeTarGz([
        { name: '/policy.wasm', data: v.wasm },
        { name: '/data.json', data: '[1,2]' },
      ]),
    message: /must hold a JSON object/,
  },
  {
    name: 'nested data.json collides with a root key',
    build: (v) =>
      makeTarGz([
        { name: '/policy.wasm', data: v.wasm },
        { name: '/data.json', data: '{"roles": 1}' },
        { name: '/roles/data.json', data: '{"a": 1}' },
      ]),
    message: /collides/,
  },
  {
    name: '.manifest is not JSON',
    build: (v) =>
      makeTarGz([
        { name: '/policy.wasm', data: v.wasm },
        { name: '/.manifest', data: 'rev=1' },
      ]),
    message: /\.manifest is not JSON/,
  },
  {
    name: '.manifest revision is a number',
    build: (v) =>
      makeTarGz([
        { name: '/policy.wasm', data: v.wasm },
        { name: '/.manifest', data: '{"revision": 7}' },
      ]),
    message: /revision must be a string/,
  },
  {
    name: 'entrypoint not compiled in',
    build: (v) => v.bundle,
    options: { entrypoint: 'envoy/authz/nope' },
    message: /entrypoint envoy\/authz\/nope is not compiled/,
  },
  {
    name: 'path traversal ../',
    build: (v) => makeTarGz([{ name: '../policy.wasm', data: v.wasm }]),
    message: /path traversal/,
  },
  {
    name: 'path traversal in the middle',
    build: (v) =>
      makeTarGz([
        { name: '/a/../../etc/data.json', data: '{}' },
        { name: '/policy.wasm', data: v.wasm },
      ]),
    message: /path traversal/,
  },
  {
    name: 'backslash path',
    build: (v) => makeTarGz([{ name: '..\\policy.wasm', data: v.wasm }]),
    message: /forbidden characters/,
  },
  {
    name: 'symlink entry',
    build: () => makeTarGz([{ name: '/policy.wasm', type: '2', linkname: '/etc/passwd' }]),
    message: /unsupported tar entry type "2"/,
  },
  {
    name: 'hard link entry',
    build: () => makeTarGz([{ name: '/policy.wasm', type: '1', linkname: '/x' }]),
    message: /unsupported tar entry type "1"/,
  },
  {
    name: 'device entry',
    build: () => makeTarGz([{ name: '/dev', type: '3' }]),
    message: /unsupported tar entry type "3"/,
  },
  {
    name: 'duplicate entry',
    build: (v) =>
      makeTarGz([
        { name: '/policy.wasm', data: v.wasm },
        { name: 'policy.wasm', data: v.wasm },
      ]),
    message: /duplicate entry/,
  },
  {
    name: 'bad header checksum',
    build: (v) => makeTarGz([{ name: '/policy.wasm', data: v.wasm, badChecksum: true }]),
    message: /checksum mismatch/,
  },
  {
    name: 'entry over the size cap',
    build: (v) => makeTarGz([{ name: '/policy.wasm', data: v.wasm }]),
    options: { limits: { maxEntryBytes: 1000, maxTotalBytes: 64 << 20, maxEntries: 100 } },
    message: /exceeds the 1000-byte cap/,
  },
  {
    name: 'gzip bomb (decompressed size over the cap)',
    build: () => gzipSync(Buffer.alloc(8 << 20)),
    options: { limits: { maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 20, maxEntries: 100 } },
    message: /decompressed size exceeds/,
  },
  {
    name: 'too many entries',
    build: (v) =>
      makeTarGz([
        { name: '/policy.wasm', data: v.wasm },
        ...Array.from({ length: 20 }, (_, i) => ({ name: `/f${i}.rego`, data: 'x' })),
      ]),
    options: { limits: { maxEntryBytes: 1 << 20, maxTotalBytes: 64 << 20, maxEntries: 10 } },
    message: /more than 10 tar entries/,
  },
  {
    name: 'manifest fine, no wasm',
    build: () => makeTarGz([{ name: '/.manifest', data: manifest }]),
    message: /missing \/policy\.wasm/,
  },
];
