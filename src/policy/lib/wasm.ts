/**
 * The slice of the WebAssembly JS API the policy loader uses. The project's `lib` is ES2023 without DOM, so the
 * global `WebAssembly` has no type declarations; these are typed views, not polyfills.
 */
import { loadPolicy } from '@open-policy-agent/opa-wasm';

/** An opaque compiled module. */
export interface WasmModule {
  readonly __wasmModule?: never;
}

interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Module: {
    imports(m: WasmModule): { module: string; name: string; kind: string }[];
    exports(m: WasmModule): { name: string; kind: string }[];
  };
}

/** The global WebAssembly namespace, typed. */
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** What SIGIL uses of opa-wasm's LoadedPolicy. */
export interface OpaPolicy {
  mem: { buffer: ArrayBuffer };
  wasmInstance: { exports: Record<string, unknown> };
  entrypoints: Record<string, number>;
  evaluate(input: unknown, entrypoint: number | string): unknown;
  setData(data: unknown): void;
}

/** opa-wasm's loadPolicy with SIGIL's types. */
export const loadOpaPolicy = loadPolicy as unknown as (
  module: WasmModule,
  memory: { initial: number; maximum: number },
  builtins: Record<string, (...args: unknown[]) => unknown>,
) => Promise<OpaPolicy>;
