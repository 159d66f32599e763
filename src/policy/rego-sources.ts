/** The Rego sources a bundle carries, for views that show the policy and for replay. */
import { bundleSources } from './lib/bundle-sources.js';

/**
 * The Rego a bundle was built from, path → text: the sources `sigil policy build` ships in it
 * (`/.sigil/sources.json`, docs/policy.md §10), else the `.rego` files in the archive (for `opa build -t wasm`
 * only stubs: package and imports), stopping before the file that would take the total past `maxBytes`
 * (default 2 MiB). Throws PolicyError (POLICY_BUNDLE_INVALID) on a malformed archive.
 */
export function regoSources(bundle: Uint8Array, maxBytes = 2 * 1024 * 1024): Record<string, string> {
  return bundleSources(bundle, maxBytes).files;
}

/** {@link regoSources} plus whether they are the full sources shipped by `sigil policy build` (`full`). */
export { bundleSources } from './lib/bundle-sources.js';
