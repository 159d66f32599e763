/**
 * opa-wasm resolves a builtin in its own JS table before the custom builtins passed to loadPolicy
 * (`builtinFuncs[name] || customBuiltins[name]` in its src/opa.js), so a host builtin SIGIL provides for a name
 * opa-wasm also ships (sprintf, regex.split) would never run. {@link overridingOpaWasm} removes those names
 * from opa-wasm's table; the table is the package's CommonJS module object, shared by every loader in the
 * thread (each worker thread has its own, and builds its builtins through the same call).
 */
import { createRequire } from 'node:module';
import type { HostBuiltin } from './host.js';

/** opa-wasm's builtin table (its `exports` hides the file, so it is resolved relative to the main entry). */
export function opaWasmTable(): Record<string, unknown> {
  const opaWasm = createRequire(createRequire(import.meta.url).resolve('@open-policy-agent/opa-wasm'));
  const table = opaWasm('./builtins/index.js') as Record<string, unknown>;
  for (const name of REFUSED) delete table[name];
  return table;
}

/**
 * opa-wasm's JS builtins SIGIL refuses (docs/policy.md §6): its yaml.* read and write YAML 1.2 with the `yaml`
 * package, while opa-envoy-plugin's OPA (1.19, yaml.v2) reads YAML 1.1 (`flag: yes` is true, a key `n` is
 * false) and writes another layout, and OPA 1.22 (yaml.v3) differs from both: a policy's answer would depend
 * on which one runs it. Deleted from the shared table, so opa-wasm cannot call them either.
 */
const REFUSED = ['yaml.marshal', 'yaml.unmarshal', 'yaml.is_valid'];

/** Returns `builtins` after making sure opa-wasm's JS versions of the same names no longer shadow them. */
export function overridingOpaWasm(builtins: Record<string, HostBuiltin>): Record<string, HostBuiltin> {
  const table = opaWasmTable();
  for (const name of Object.keys(builtins)) delete table[name];
  return builtins;
}
