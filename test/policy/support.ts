/** Test helpers for the policy module: the real OPA CLI, bundle building, and a tiny tar writer for bad bundles. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { type PolicyContext, PolicyEngine, type SigilPolicyInput } from '../../src/policy/index.js';

/** The pinned OPA CLI installed by scripts/setup-tools.sh. */
export const OPA = resolve('.tools/bin/opa');

/** Repository policy sources. */
export const POLICY_DIR = resolve('policy');

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir(prefix = 'sigil-policy-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `opa build -t wasm` on `srcDir` and returns the bundle bytes. */
export function opaBuild(
  srcDir: string,
  entrypoints: string[] = ['envoy/authz/allow'],
  revision?: string,
): Buffer {
  const { dir, cleanup } = tempDir('sigil-opa-build-');
  try {
    const out = join(dir, 'bundle.tar.gz');
    const args = ['build', '-t', 'wasm', ...entrypoints.flatMap((e) => ['-e', e]), '-o', out];
    if (revision !== undefined) args.push('--revision', revision);
    execFileSync(OPA, [...args, srcDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    return readFileSync(out);
  } finally {
    cleanup();
  }
}

/** Writes `files` (path → text) into a temp dir and builds it. */
export function opaBuildSources(
  files: Record<string, string>,
  entrypoints?: string[],
  revision?: string,
): Buffer {
  const { dir, cleanup } = tempDir('sigil-rego-');
  try {
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), text);
    }
    return opaBuild(dir, entrypoints, revision);
  } finally {
    cleanup();
  }
}

/** One entry for {@link makeTar}. */
export interface TarSpec {
  name: string;
  data?: Buffer | string;
  /** ustar typeflag, default '0'. */
  type?: string;
  /** Overrides the size field (to forge truncation/oversize). */
  size?: number;
  /** Corrupts the header checksum. */
  badChecksum?: boolean;
  linkname?: string;
}

/** A ustar archive (IEEE 1003.1 ustar header layout), with two zero blocks at the end unless `noTrailer`. */
export function makeTar(entries: TarSpec[], noTrailer = false): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? '', 'utf8');
    const h = Buffer.alloc(512);
    h.write(e.name.slice(0, 100), 0, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${(e.size ?? data.length).toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write(e.type ?? '0', 156);
    if (e.linkname) h.write(e.linkname, 157);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    if (e.badChecksum) sum += 1;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, data);
    const pad = (512 - (data.length % 512)) % 512;
    blocks.push(Buffer.alloc(pad));
  }
  if (!noTrailer) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** gzip(makeTar(...)). */
export function makeTarGz(entries: TarSpec[], noTrailer = false): Buffer {
  return gzipSync(makeTar(entries, noTrailer));
}

/** A valid chain summary for input.sigil. */
export function sigil(over: Partial<SigilPolicyInput> = {}): SigilPolicyInput {
  return {
    valid: true,
    code: 'OK',
    sub: 'spiffe://sigil.mesh/agent/coder/7',
    iss: 'spiffe://sigil.mesh/sigil/issuer',
    task_id: 'task-42',
    tool: 'fs.read',
    tools: ['fs.read'],
    tool_scope: ['fs.*'],
    depth: 2,
    exp: 1767225900,
    hops: [
      {
        sub: 'spiffe://sigil.mesh/agent/planner/1',
        iss: 'spiffe://sigil.mesh/sigil/issuer',
        jti: 'j1',
        tool_scope: ['*'],
        exp: 1767225900,
      },
      {
        sub: 'spiffe://sigil.mesh/agent/coder/7',
        iss: 'spiffe://sigil.mesh/agent/planner/1',
        jti: 'j2',
        tool_scope: ['fs.*'],
        exp: 1767225900,
      },
    ],
    ...over,
  };
}

/** Parts of an HTTP request for {@link context}. */
export interface HttpParts {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Body bytes as Envoy sends them with `pack_as_bytes: true` (CheckRequest raw_body). */
  rawBody?: Buffer;
}

/** A PolicyContext with a CheckRequest in ProtoJSON (the form `sigil policy eval` reads from a file). */
export function context(p: HttpParts = {}, s: SigilPolicyInput = sigil()): PolicyContext {
  const method = p.method ?? 'GET';
  const path = p.path ?? '/api/items';
  return {
    checkRequest: {
      attributes: {
        source: {
          address: { socketAddress: { address: '10.0.0.5', portValue: 41000 } },
          principal: 'spiffe://sigil.mesh/agent/coder/7',
        },
        destination: { address: { socketAddress: { address: '10.0.0.9', portValue: 8080 } } },
        request: {
          time: '2026-01-01T00:00:00.250Z',
          http: {
            id: 'req-1',
            method,
            headers: { ':method': method, ':path': path, ':authority': 'svc.local', ...p.headers },
            path,
            host: 'svc.local',
            scheme: 'http',
            protocol: 'HTTP/1.1',
            ...(p.body !== undefined ? { body: p.body, size: String(Buffer.byteLength(p.body)) } : {}),
            ...(p.rawBody !== undefined
              ? { rawBody: p.rawBody.toString('base64'), size: String(p.rawBody.length) }
              : {}),
          },
        },
      },
    },
    sigil: s,
  };
}

/** Deterministic PRNG (mulberry32) so generated inputs are reproducible from the seed printed on failure. */
export function prng(seed: number): {
  next: () => number;
  int: (n: number) => number;
  pick: <T>(xs: readonly T[]) => T;
  chance: (p: number) => boolean;
} {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
    chance: (p) => next() < p,
  };
}

// Allowed only after a long computation when the request asks for it; fast otherwise: n² steps over an
// n-element range (seconds for n = 30000).
export const SLOW_ON_DEMAND = [
  'package envoy.authz',
  '',
  'default allow := false',
  '',
  'allow if {',
  '  not input.attributes.request.http.headers["x-slow"]',
  '}',
  '',
  'allow if {',
  '  n := to_number(input.attributes.request.http.headers["x-slow"])',
  '  r := numbers.range(1, n)',
  '  not product_hit(r)',
  '}',
  '',
  'product_hit(r) if {',
  '  some i in r',
  '  some j in r',
  '  i * j == -1',
  '}',
  '',
].join('\n');

/**
 * Starts a worker-isolated engine (300 ms budget) on {@link SLOW_ON_DEMAND} built into `dir`. OPA Wasm frees
 * nothing during one evaluation: at the default 64 MiB cap the slow loop runs out of memory (POLICY_EVAL_ERROR,
 * opa_malloc) in ~200 ms on a quiet machine; a larger cap lets the budget end it.
 */
export async function startSlowWorkerEngine(dir: string): Promise<PolicyEngine> {
  const file = join(dir, 'slow.tar.gz');
  writeFileSync(file, opaBuildSources({ 'p.rego': SLOW_ON_DEMAND }));
  return PolicyEngine.start({
    source: file,
    registry: new Registry(),
    evalTimeoutMs: 300,
    maxMemoryPages: 16_384,
    isolation: 'worker',
    pollIntervalMs: 60_000,
  });
}
