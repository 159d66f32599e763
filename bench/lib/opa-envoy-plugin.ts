/**
 * The benchmarks' peer: the real opa-envoy-plugin binary (`cmd/opa-envoy-plugin` = OPA + the
 * `envoy_ext_authz_grpc` plugin), built from the peers' source by scripts/setup-tools.sh into
 * .tools/bin/opa-envoy-plugin. bench:e2e (bench/e2e/lib/stack.ts) and bench:check start it the same way.
 */
import { join } from 'node:path';

/** Path of the plugin binary under the repository root. */
export function pluginBinary(root: string): string {
  return join(root, '.tools', 'bin', 'opa-envoy-plugin');
}

/** What the reports call the peer. */
export const PEER_NAME = 'opa-envoy-plugin (real binary, built from the peers source)';

/**
 * `opa-envoy-plugin run --server` arguments: the REST API on `restPort` (used only for readiness), the
 * plugin config (envoy/bench/opa/config.yaml with the gRPC port filled in), the policy and data files.
 * The version check is off: a benchmark must not phone home in the middle of a measured window.
 */
export function pluginArgs(o: { restPort: number; configFile: string; files: string[] }): string[] {
  return [
    'run',
    '--server',
    '--skip-version-check',
    '--addr',
    `127.0.0.1:${o.restPort}`,
    '--config-file',
    o.configFile,
    '--log-level',
    'error',
    ...o.files,
  ];
}

/**
 * Resolves once OPA's `/health?plugins` answers 200: the plugin reports OK only after its gRPC listener
 * is bound (internal/internal.go `listen`), so a Check sent afterwards is served. At `--log-level error`
 * the plugin prints nothing to wait for.
 */
export async function waitPluginReady(
  restPort: number,
  timeoutMs = 30_000,
  alive = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error('opa-envoy-plugin exited before it was ready');
    const ok = await fetch(`http://127.0.0.1:${restPort}/health?plugins`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`opa-envoy-plugin not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
