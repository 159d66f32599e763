/**
 * Routes builtins that `opa build -t wasm` compiles into the module (OPA's C library) to host functions, where
 * the C version differs from OPA's Go: `base64.decode`, `base64url.decode` and `base64.is_valid` accept
 * unpadded and URL-alphabet input (SIGIL would allow what opa-envoy-plugin denies), `format_int` aborts the
 * evaluation beyond 2^32 (docs/policy.md §6). No import can be added without renumbering every function, so the patch only
 * replaces function bodies (WebAssembly Core 1.0 §5.5.13 code section):
 *
 * - each native function (found by name in the `name` custom section, appendix 7.4; OPA's linker removes
 *   unused library functions, so a name is present only when the policy uses the builtin) becomes a call of
 *   the imported `opa_builtin<n>(id, ctx, args…)` with a fresh builtin id;
 * - the exported `builtins` function, which tells the host the name of each id, returns the module's own map
 *   plus the new ids, parsed from JSON text it writes to memory with the ABI exports `opa_malloc` and
 *   `opa_json_parse`.
 *
 * The host then resolves the new ids like any imported builtin, to SIGIL's Go-faithful implementations.
 */

/** Native C function of OPA's Wasm library → the Rego builtin SIGIL implements instead. */
export const ROUTED_NATIVES: Readonly<Record<string, { builtin: string; arity: 1 | 2 }>> = {
  opa_base64_decode: { builtin: 'base64.decode', arity: 1 },
  opa_base64_url_decode: { builtin: 'base64url.decode', arity: 1 },
  opa_base64_is_valid: { builtin: 'base64.is_valid', arity: 1 },
  opa_strings_format_int: { builtin: 'format_int', arity: 2 },
};

/** Thrown when the module does not have the layout this patch expects (the loader refuses the bundle). */
export class WasmPatchError extends Error {}

class Reader {
  constructor(
    readonly b: Uint8Array,
    public pos = 0,
  ) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new WasmPatchError('unexpected end of module');
    return this.b[this.pos++]!;
  }
  /** Unsigned LEB128 (§5.2.2), up to 32 bits. */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const x = this.byte();
      result += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) return result;
      shift += 7;
      if (shift > 28) throw new WasmPatchError('LEB128 too long');
    }
  }
  name(): string {
    const n = this.u32();
    const s = Buffer.from(this.b.subarray(this.pos, this.pos + n)).toString('utf8');
    this.pos += n;
    return s;
  }
  limits(): void {
    const flag = this.byte();
    this.u32();
    if (flag & 1) this.u32();
  }
}

function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let x = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) x |= 0x80;
    out.push(x);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit value (i32.const immediates). */
function s32(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const x = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (x & 0x40) === 0) || (n === -1 && (x & 0x40) !== 0)) {
      out.push(x);
      return out;
    }
    out.push(x | 0x80);
  }
}

interface Section {
  id: number;
  at: number; // the id byte
  start: number; // payload start
  end: number; // payload end
}

function sections(b: Uint8Array): Section[] {
  if (b.length < 8 || b[0] !== 0 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d) {
    throw new WasmPatchError('not a WebAssembly module');
  }
  const r = new Reader(b, 8);
  const out: Section[] = [];
  while (r.pos < b.length) {
    const at = r.pos;
    const id = r.byte();
    const size = r.u32();
    if (r.pos + size > b.length) throw new WasmPatchError(`section ${id} runs past the end of the module`);
    out.push({ id, at, start: r.pos, end: r.pos + size });
    r.pos += size;
  }
  return out;
}

/** Function names of the `name` section (subsection 1), name → function index. */
function functionNames(b: Uint8Array, all: Section[]): Map<string, number> {
  const names = new Map<string, number>();
  for (const s of all) {
    if (s.id !== 0) continue;
    const r = new Reader(b, s.start);
    if (r.name() !== 'name') continue;
    while (r.pos < s.end) {
      const sub = r.byte();
      const size = r.u32();
      const next = r.pos + size;
      if (sub === 1) {
        for (let n = r.u32(); n > 0; n--) {
          const idx = r.u32();
          names.set(r.name(), idx);
        }
      }
      r.pos = next;
    }
  }
  return names;
}

/** Function imports in order (their indices come first) and the function exports. */
function importsAndExports(
  b: Uint8Array,
  all: Section[],
): { imports: string[]; exports: Map<string, number> } {
  const imports: string[] = [];
  const exports = new Map<string, number>();
  for (const s of all) {
    const r = new Reader(b, s.start);
    if (s.id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        r.name();
        const field = r.name();
        const kind = r.byte();
        if (kind === 0) {
          r.u32();
          imports.push(field);
        } else if (kind === 1) {
          r.byte();
          r.limits();
        } else if (kind === 2) r.limits();
        else if (kind === 3) r.pos += 2;
        else throw new WasmPatchError(`unknown import kind ${kind}`);
      }
    } else if (s.id === 7) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        const idx = r.u32();
        if (kind === 0) exports.set(name, idx);
      }
    }
  }
  return { imports, exports };
}

/** The natives of {@link ROUTED_NATIVES} that `wasm` contains (i.e. that its policy calls). */
export function routedNativesIn(wasm: Uint8Array): string[] {
  const names = functionNames(wasm, sections(wasm));
  return Object.keys(ROUTED_NATIVES).filter((n) => names.has(n));
}

/**
 * `wasm` with every routed native replaced by a host call, and `builtins` returning `hostIds` plus the new ids.
 * Returns the patched bytes and the full name → id map; `wasm` itself when it has no routed native.
 */
export function routeNatives(
  wasm: Uint8Array,
  hostIds: Readonly<Record<string, number>>,
): { bytes: Uint8Array; ids: Record<string, number> } {
  const all = sections(wasm);
  const names = functionNames(wasm, all);
  const natives = Object.keys(ROUTED_NATIVES).filter((n) => names.has(n));
  if (natives.length === 0) return { bytes: wasm, ids: { ...hostIds } };
  const { imports, exports } = importsAndExports(wasm, all);
  const call = [
    imports.indexOf('opa_builtin0'),
    imports.indexOf('opa_builtin1'),
    imports.indexOf('opa_builtin2'),
  ];
  const builtinsFn = exports.get('builtins');
  const malloc = exports.get('opa_malloc');
  const parse = exports.get('opa_json_parse');
  if (call.includes(-1) || builtinsFn === undefined || malloc === undefined || parse === undefined) {
    throw new WasmPatchError('module lacks opa_builtin1/2, builtins, opa_malloc or opa_json_parse');
  }

  const ids: Record<string, number> = { ...hostIds };
  let next = Math.max(-1, ...Object.values(ids)) + 1;
  const bodies = new Map<number, number[]>();
  for (const n of natives) {
    const id = next++;
    const { builtin, arity } = ROUTED_NATIVES[n]!;
    ids[builtin] = id;
    // (func (param i32 × arity) (result i32)) → opa_builtin<arity>(id, 0, args…): no locals; i32.const id;
    // i32.const 0; local.get 0 …; call; end.
    const args = Array.from({ length: arity }, (_, k) => [0x20, k]).flat();
    bodies.set(names.get(n)!, [
      0x00,
      0x41,
      ...s32(id),
      0x41,
      0x00,
      ...args,
      0x10,
      ...u32(call[arity]!),
      0x0b,
    ]);
  }
  // builtins(): one i32 local p; p = opa_malloc(len); store the JSON bytes; opa_json_parse(p, len).
  const json = Buffer.from(JSON.stringify(ids), 'utf8');
  const code = [0x01, 0x01, 0x7f, 0x41, ...s32(json.length), 0x10, ...u32(malloc), 0x21, 0x00];
  json.forEach((byte, k) => {
    code.push(0x20, 0x00, 0x41, ...s32(byte), 0x3a, 0x00, ...u32(k)); // i32.store8 align=0 offset=k
  });
  code.push(0x20, 0x00, 0x41, ...s32(json.length), 0x10, ...u32(parse), 0x0b);
  bodies.set(builtinsFn, code);

  const codeSection = all.find((s) => s.id === 10);
  if (!codeSection) throw new WasmPatchError('module has no code section');
  const r = new Reader(wasm, codeSection.start);
  const out: number[] = [];
  const count = r.u32();
  out.push(...u32(count));
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    const body = bodies.get(imports.length + i);
    if (body) out.push(...u32(body.length), ...body);
    else out.push(...u32(size), ...wasm.subarray(r.pos, r.pos + size));
    r.pos += size;
  }
  // Section id, new size, payload; everything else byte for byte.
  const bytes = Buffer.concat([
    wasm.subarray(0, codeSection.at),
    Uint8Array.from([10, ...u32(out.length)]),
    Uint8Array.from(out),
    wasm.subarray(codeSection.end),
  ]);
  return { bytes, ids };
}
