/**
 * The Wasm rewrite that routes OPA's compiled-in base64 decoders and format_int to the host
 * (src/policy/lib/wasm-natives.ts), on modules built by the real `opa build`. Its results are compared with
 * `opa eval` in builtins-native.test.ts; here: what is rewritten and what is left alone.
 */

import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readTar } from '../../src/policy/lib/tar.js';
import { wasmApi } from '../../src/policy/lib/wasm.js';
import { routedNativesIn, routeNatives, WasmPatchError } from '../../src/policy/lib/wasm-natives.js';
import { opaBuildSources } from './support.js';

function wasmOf(rego: string): Uint8Array {
  const files = readTar(gunzipSync(opaBuildSources({ 'p.rego': rego }, ['t/out'])));
  return new Uint8Array([...files].find(([name]) => name.endsWith('policy.wasm'))![1]);
}

describe('routing native builtins to the host', () => {
  it('finds exactly the routed natives a policy uses, and leaves other modules byte for byte', () => {
    const plain = wasmOf('package t\n\nout := upper(input.x)\n');
    expect(routedNativesIn(plain)).toEqual([]);
    expect(routeNatives(plain, { 'x.y': 0 }).bytes).toBe(plain);
    const used = wasmOf('package t\n\nout := [base64.decode(input.x), format_int(input.n, 10)]\n');
    expect(routedNativesIn(used).sort()).toEqual(['opa_base64_decode', 'opa_strings_format_int']);
  });

  it("gives the routed builtins fresh ids after the module's own and yields a valid module", async () => {
    const wasm = wasmOf('package t\n\nout := [base64.is_valid(input.x), sprintf("%v", [input.x])]\n');
    const { bytes, ids } = routeNatives(wasm, { sprintf: 0 });
    expect(ids).toEqual({ sprintf: 0, 'base64.is_valid': 1 });
    expect(bytes).not.toBe(wasm);
    await expect(wasmApi.compile(bytes)).resolves.toBeDefined();
  });

  it('refuses what is not a module, or one cut short', () => {
    expect(() => routeNatives(Uint8Array.from([1, 2, 3]), {})).toThrow(WasmPatchError);
    const used = wasmOf('package t\n\nout := base64.decode(input.x)\n');
    expect(() => routedNativesIn(used.subarray(0, used.length - 10))).toThrow(WasmPatchError);
  });
});
