/**
 * Loads an OPA bundle built by `opa build -t wasm` (OPA docs "Bundles" §Bundle File Format and "WebAssembly"):
 * a gzip'd tar with `/policy.wasm`, `/data.json` (and optionally nested `<path>/data.json`) and `/.manifest`.
 * Everything is validated before the bundle is handed out, so a hot reload can build a new bundle fully and swap
 * it in atomically, or keep the old one when this throws.
 */
import { assertArray, assertObject, assertString } from '../lib/assert.js';
import { sha256 as sha256Of } from '../lib/bytes.js';
import { failWith, PolicyError } from './errors.js';
import { withArgTexts } from './lib/builtins/host.js';
import { type BuiltinState, missingBuiltins, sigilBuiltins } from './lib/builtins.js';
import { stringifyInput } from './lib/exact-json.js';
import { parseResultSet } from './lib/number-text.js';
import { printLines } from './lib/print.js';
import { DEFAULT_TAR_LIMITS, gunzipCapped, readTar, type TarLimits } from './lib/tar.js';
import { loadOpaPolicy, type OpaPolicy, type WasmModule, wasmApi } from './lib/wasm.js';
import { routedNativesIn, routeNatives } from './lib/wasm-natives.js';
import type { BoundedOutcome } from './lib/worker-evaluator.js';

/** Default decision path, as opa-envoy-plugin's `path` default (`envoy/authz/allow`). */
export const DEFAULT_ENTRYPOINT = 'envoy/authz/allow';

/** `.manifest` fields SIGIL reads (OPA docs "Bundles" §Manifest). */
export interface BundleManifest {
  revision?: string;
  roots?: string[];
  wasm?: { entrypoint: string; module: string }[];
  rego_version?: number;
  metadata?: Record<string, unknown>;
}

/** Options for {@link loadBundle}. */
export interface LoadBundleOptions {
  /** Decision path (`envoy/authz/allow`); must be one of the module's entrypoints. */
  entrypoint?: string;
  /** Caps for the archive reader. */
  limits?: TarLimits;
  /** Wasm linear memory cap in 64 KiB pages (default 1024 = 64 MiB); exceeding it traps → POLICY_EVAL_ERROR. */
  maxMemoryPages?: number;
}

/** A validated, instantiated bundle. `evaluate` is synchronous, like the Wasm it wraps. */
export interface PolicyBundle {
  /** Manifest revision, or `sha256:<hex>` of the bundle bytes when the manifest has none. */
  readonly revision: string;
  /** sha256 hex of the bundle bytes as fetched. */
  readonly sha256: string;
  readonly entrypoint: string;
  readonly manifest: BundleManifest;
  /** Builtins the Wasm imports from the host (all provided, or loading would have failed). */
  readonly requiredBuiltins: readonly string[];
  /**
   * Evaluates the entrypoint on `input` (a value, or ready JSON text as an ArrayBuffer) with `time.now_ns()`
   * fixed at `nowNs`. Returns the result set the ABI produces (`[]` when undefined, `[{result: x}]` otherwise;
   * a non-integer `http_status` literal kept as lib/number-text.ts NumberText). Lines the policy `print()`s are
   * appended to `prints`. Throws whatever the Wasm or a builtin throws.
   */
  evaluate(input: unknown, nowNs: bigint, prints?: string[]): unknown;
  /** {@link evaluate}, returning the result set as the JSON text the Wasm wrote. */
  evaluateText(input: unknown, nowNs: bigint, prints?: string[]): string;
  /**
   * Present when the bundle runs on a worker thread (`isolation: worker`): evaluation with a hard deadline.
   * {@link evaluateInput} prefers it over `evaluate`.
   */
  evaluateBounded?(input: unknown, nowNs: bigint, timeoutMs: number): BoundedOutcome;
  /** Releases the worker thread, when there is one. */
  close?(): Promise<void>;
}

const invalid = failWith('POLICY_BUNDLE_INVALID', 'bundle: ');
const failManifest = failWith('POLICY_BUNDLE_INVALID', 'bundle: .manifest ');

/** opa-wasm throws strings and plain objects; turn anything into a message. */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  if (typeof e === 'object' && e !== null && 'message' in e)
    return String((e as { message: unknown }).message);
  return String(e);
}

function parseManifest(bytes: Buffer | undefined): BundleManifest {
  if (!bytes) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw invalid(`.manifest is not JSON (${describeThrown(e)})`, e);
  }
  const o = assertObject(raw, 'must be', failManifest);
  const m: BundleManifest = {};
  if (o.revision !== undefined) m.revision = assertString(o.revision, 'revision', failManifest, 1024, 0);
  if (o.roots !== undefined)
    m.roots = assertArray(o.roots, 'roots', failManifest, (x) =>
      assertString(x, 'roots[]', failManifest, 1024, 0),
    );
  if (o.wasm !== undefined) {
    m.wasm = assertArray(o.wasm, 'wasm', failManifest, (x) => {
      const w = assertObject(x, 'wasm[]', failManifest);
      return {
        entrypoint: assertString(w.entrypoint, 'wasm[].entrypoint', failManifest),
        module: assertString(w.module, 'wasm[].module', failManifest),
      };
    });
  }
  if (o.rego_version !== undefined) {
    if (o.rego_version !== 0 && o.rego_version !== 1) throw failManifest('rego_version must be 0 or 1');
    m.rego_version = o.rego_version;
  }
  if (o.metadata !== undefined) m.metadata = assertObject(o.metadata, 'metadata', failManifest);
  return m;
}

/** Merges every `<dir>/data.json` into one document at `<dir>` (OPA docs "Bundles": data file location = path). */
function mergeData(files: Map<string, Buffer>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const paths = [...files.keys()].filter((p) => p === '/data.json' || p.endsWith('/data.json')).sort();
  for (const p of paths) {
    let doc: unknown;
    try {
      doc = JSON.parse(files.get(p)!.toString('utf8'));
    } catch (e) {
      throw invalid(`${p} is not valid JSON (${describeThrown(e)})`, e);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      throw invalid(`${p} must hold a JSON object`);
    const segs = p.split('/').slice(1, -1);
    let node = root;
    for (const s of segs) {
      const next = node[s];
      if (next === undefined) node[s] = {};
      else if (typeof next !== 'object' || next === null || Array.isArray(next))
        throw invalid(`${p} collides with a non-object value`);
      node = node[s] as Record<string, unknown>;
    }
    for (const [k, v] of Object.entries(doc)) {
      if (Object.hasOwn(node, k)) throw invalid(`${p}: key ${JSON.stringify(k)} is defined twice`);
      node[k] = v;
    }
  }
  return root;
}

/** A small request in the input-document shape, used only to warm the Wasm up. */
const WARMUP_INPUT = {
  attributes: { request: { http: { method: 'GET', path: '/', headers: { ':path': '/' } } } },
  parsed_path: [''],
  parsed_query: {},
  parsed_body: null,
  truncated_body: false,
  version: { encoding: 'protojson', ext_authz: 'v3' },
  sigil: { valid: false, code: 'WARMUP', hops: [] },
};

/** The imports of the OPA Wasm ABI (docs "WebAssembly" §Imports); anything else is not an OPA policy. */
const ALLOWED_IMPORTS = new Set([
  'opa_abort',
  'opa_println',
  'opa_builtin0',
  'opa_builtin1',
  'opa_builtin2',
  'opa_builtin3',
  'opa_builtin4',
  'memory',
]);
const REQUIRED_EXPORTS = [
  'opa_eval',
  'builtins',
  'entrypoints',
  'opa_json_dump',
  'opa_malloc',
  'opa_json_parse',
  'opa_heap_ptr_get',
  'opa_heap_ptr_set',
];

/** Reads a JSON value the module dumps at `addr` (OPA Wasm ABI: opa_json_dump → NUL-terminated UTF-8). */
function dumpJson(policy: OpaPolicy, addr: number): unknown {
  const exports = policy.wasmInstance.exports as Record<string, (...a: number[]) => number>;
  return JSON.parse(cString(policy, exports.opa_json_dump!(addr)));
}

/** The Wasm's NUL-terminated UTF-8 text at `addr`. */
function cString(policy: OpaPolicy, addr: number): string {
  const mem = new Uint8Array(policy.mem.buffer);
  return Buffer.from(mem.subarray(addr, mem.indexOf(0, addr))).toString('utf8');
}

/** opa-wasm's LoadedPolicy fields the one-call ABI (≥ 1.2) needs; present on every instance it returns. */
interface AbiState {
  minorVersion: number;
  dataAddr: number;
  dataHeapPtr: number;
  mem: { buffer: ArrayBuffer; grow(pages: number): number };
}

/**
 * One `opa_eval` call (OPA docs "WebAssembly" §Evaluation, ABI 1.2), as opa-wasm's evaluate does it, but
 * returning the result's JSON text: the decision's number literals matter (lib/number-text.ts).
 */
function evalText(policy: OpaPolicy, entrypoint: number, input: unknown): string {
  const p = policy as unknown as OpaPolicy & AbiState;
  if (p.minorVersion < 2) return JSON.stringify(policy.evaluate(input, entrypoint));
  const bytes =
    input instanceof ArrayBuffer ? new Uint8Array(input) : Buffer.from(stringifyInput(input), 'utf8');
  const addr = p.dataHeapPtr;
  const short = addr + bytes.byteLength - p.mem.buffer.byteLength;
  if (short > 0) p.mem.grow(Math.ceil(short / 65536));
  new Uint8Array(p.mem.buffer).set(bytes, addr);
  const exports = policy.wasmInstance.exports as Record<string, (...a: number[]) => number>;
  const ret = exports.opa_eval!(
    0,
    entrypoint,
    p.dataAddr,
    addr,
    bytes.byteLength,
    addr + bytes.byteLength,
    0,
  );
  return cString(policy, ret);
}

/**
 * Parses, validates and instantiates a bundle. Throws {@link PolicyError} POLICY_BUNDLE_INVALID (with a message
 * naming the problem) or POLICY_BUILTIN_MISSING (naming the builtins).
 */
export async function loadBundle(bytes: Uint8Array, options: LoadBundleOptions = {}): Promise<PolicyBundle> {
  const entrypoint = options.entrypoint ?? DEFAULT_ENTRYPOINT;
  const limits = options.limits ?? DEFAULT_TAR_LIMITS;
  const sha256 = sha256Of(bytes, 'hex');
  const files = readTar(gunzipCapped(bytes, limits.maxTotalBytes), limits);
  const manifest = parseManifest(files.get('/.manifest'));

  let modulePath = '/policy.wasm';
  if (manifest.wasm && manifest.wasm.length > 0) {
    const modules = new Set(manifest.wasm.map((w) => w.module));
    if (modules.size > 1)
      throw invalid(`.manifest lists ${modules.size} Wasm modules; SIGIL loads exactly one`);
    modulePath = `/${manifest.wasm[0]!.module.replace(/^\/+/, '')}`;
  }
  const wasmBytes = files.get(modulePath);
  if (!wasmBytes) throw invalid(`missing ${modulePath} (build with \`opa build -t wasm -e ${entrypoint}\`)`);
  const data = mergeData(files);

  let module: WasmModule;
  try {
    module = await wasmApi.compile(wasmBytes);
  } catch (e) {
    throw invalid(`${modulePath} is not a valid WebAssembly module (${describeThrown(e)})`, e);
  }
  for (const imp of wasmApi.Module.imports(module)) {
    if (imp.module !== 'env' || !ALLOWED_IMPORTS.has(imp.name)) {
      throw invalid(`${modulePath} imports ${imp.module}.${imp.name}, which is not part of the OPA Wasm ABI`);
    }
  }
  const exportNames = new Set(wasmApi.Module.exports(module).map((e) => e.name));
  for (const name of REQUIRED_EXPORTS) {
    if (!exportNames.has(name))
      throw invalid(`${modulePath} lacks the OPA Wasm ABI export ${name} (not an OPA policy?)`);
  }

  const state: BuiltinState = { nowNs: 0n };
  // Where `print()` lines go during one evaluation (undefined: dropped, e.g. during the warm-up).
  let printTo: string[] | undefined;
  const hostBuiltins = {
    ...sigilBuiltins(state),
    'internal.print': (operands: unknown) => {
      printTo?.push(...printLines(operands));
      return true;
    },
  };
  const instantiate = async (m: WasmModule): Promise<OpaPolicy> => {
    try {
      return await loadOpaPolicy(m, { initial: 5, maximum: options.maxMemoryPages ?? 1024 }, hostBuiltins);
    } catch (e) {
      throw invalid(`${modulePath} could not be instantiated (${describeThrown(e)})`, e);
    }
  };
  // The module's own list of host builtins (name → id); refuse the bundle now rather than fail every request.
  const hostIdsOf = (p: OpaPolicy) =>
    assertObject(
      dumpJson(p, (p.wasmInstance.exports as Record<string, () => number>).builtins!()),
      'builtins',
      failWith('POLICY_BUNDLE_INVALID'),
    ) as Record<string, number>;
  let policy = await instantiate(module);
  if (routedNativesIn(wasmBytes).length > 0) {
    // OPA's C base64 decoders are lenient where OPA's Go is not: call SIGIL's instead (lib/wasm-natives.ts).
    try {
      module = await wasmApi.compile(routeNatives(wasmBytes, hostIdsOf(policy)).bytes);
    } catch (e) {
      throw invalid(
        `${modulePath}: cannot route its native base64 builtins to the host (${describeThrown(e)})`,
        e,
      );
    }
    policy = await instantiate(module);
  }
  const required = Object.keys(hostIdsOf(policy));
  const missing = missingBuiltins(required.filter((name) => name !== 'internal.print'));
  if (missing.length > 0) {
    throw new PolicyError(
      'POLICY_BUILTIN_MISSING',
      `bundle needs host builtin${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which SIGIL does not provide (docs/policy.md §6 lists the supported ones)`,
    );
  }

  const entrypoints = policy.entrypoints;
  if (!Object.hasOwn(entrypoints, entrypoint)) {
    const have = Object.keys(entrypoints).join(', ') || '(none)';
    throw invalid(
      `entrypoint ${entrypoint} is not compiled into ${modulePath} (has: ${have}); rebuild with -e ${entrypoint}`,
    );
  }
  const entrypointId = entrypoints[entrypoint]!;

  try {
    policy.setData(data);
  } catch (e) {
    throw invalid(`data.json could not be loaded into Wasm memory (${describeThrown(e)})`, e);
  }

  // Warm-up: V8 compiles Wasm functions lazily, so the first evaluation pays for compilation (tens of ms on a busy
  // core) and would blow the eval budget of a real request right after a swap. Errors here are the policy's business.
  for (let i = 0; i < 3; i++) {
    try {
      policy.evaluate(WARMUP_INPUT, entrypointId);
    } catch {
      // ignored: a policy may legitimately fail on a synthetic request
    }
  }

  const evaluateText = (input: unknown, nowNs: bigint, prints?: string[]): string => {
    state.nowNs = nowNs;
    state.queryCache?.clear(); // OPA memoises some builtins per query (uuid.rfc4122), not across queries
    printTo = prints;
    try {
      return withArgTexts(() => evalText(policy, entrypointId, input));
    } finally {
      printTo = undefined;
    }
  };
  return {
    revision: manifest.revision ? manifest.revision : `sha256:${sha256}`,
    sha256,
    entrypoint,
    manifest,
    requiredBuiltins: required.sort(),
    evaluate: (input: unknown, nowNs: bigint, prints?: string[]): unknown =>
      parseResultSet(evaluateText(input, nowNs, prints)),
    evaluateText,
  };
}
