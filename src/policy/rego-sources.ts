/** The Rego sources a bundle carries (`opa build` keeps them next to policy.wasm), for views that show the policy. */
import { DEFAULT_TAR_LIMITS, gunzipCapped, readTar } from './lib/tar.js';

/**
 * The `.rego` files inside a gzip'd bundle, path → text, in archive order, stopping before the file that would
 * take the total past `maxBytes` (default 2 MiB). Throws PolicyError (POLICY_BUNDLE_INVALID) on a malformed archive.
 */
export function regoSources(bundle: Uint8Array, maxBytes = 2 * 1024 * 1024): Record<string, string> {
  const files: Record<string, string> = {};
  let total = 0;
  for (const [path, body] of readTar(gunzipCapped(bundle, DEFAULT_TAR_LIMITS.maxTotalBytes))) {
    if (!path.endsWith('.rego')) continue;
    total += body.length;
    if (total > maxBytes) break;
    files[path] = body.toString('utf8');
  }
  return files;
}
