/**
 * The two systems under comparison, each answering Authorization/Check over gRPC for ONE policy:
 * the real opa-envoy-plugin binary running the Rego source, and SIGIL's authz server (in process, the real
 * pipeline from checkFromConfig) running the same Rego compiled to Wasm by the real `opa build`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { pluginArgs, pluginBinary, waitPluginReady } from '../../../bench/lib/opa-envoy-plugin.js';
import { startAuthzServer } from '../../../src/authz/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { loadBundle, type PolicyError } from '../../../src/policy/index.js';
import { checkFromConfig, createPolicyDecider } from '../../../src/serve/index.js';
import { opaBuildSources } from '../../policy/support.js';
import { authzClient } from '../authz-client.js';
import { agentId, type TestIdentity, testIdentity } from '../identity.js';
import { freePorts } from '../ports.js';

const ROOT = resolve(import.meta.dirname, '../../..');

/** The real plugin binary scripts/setup-tools.sh builds. */
export const PLUGIN = pluginBinary(ROOT);

/** Why the differential test cannot run here, or undefined when it can. */
export function missingTools(): string | undefined {
  for (const [what, file] of [
    ['opa-envoy-plugin', PLUGIN],
    ['opa', join(ROOT, '.tools/bin/opa')],
  ] as const) {
    if (!existsSync(file)) return `${what} missing at ${file}: run bash scripts/setup-tools.sh`;
  }
  return undefined;
}

/** One side of the comparison. */
export interface Side {
  client: Client;
  close(): Promise<void>;
}

/** Starts `opa-envoy-plugin run --server` on `policyFile` (plugin path envoy/authz/allow, its default). */
export async function startPlugin(policyFile: string): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-diff-plugin-'));
  const [grpc, rest] = (await freePorts(2)) as [number, number];
  const configFile = join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    `plugins:\n  envoy_ext_authz_grpc:\n    addr: 127.0.0.1:${grpc}\n    path: envoy/authz/allow\n`,
  );
  const child: ChildProcess = spawn(PLUGIN, pluginArgs({ restPort: rest, configFile, files: [policyFile] }), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitPluginReady(rest, 60_000, () => child.exitCode === null && child.signalCode === null);
  } catch (e) {
    await close();
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  const client = authzClient(`127.0.0.1:${grpc}`);
  return {
    client,
    close: async () => {
      client.close();
      await close();
    },
  };
}

/** SIGIL's side: the authz server plus the issuer whose tokens it trusts. */
export interface SigilSide extends Side {
  identity: TestIdentity;
}

/**
 * SIGIL configured to compare policies, not its own token rules: the token (minted by `identity`, scope `*`)
 * always verifies; `peer_binding: off` because generated mTLS principals are not the token's holder;
 * `require_tool: false` because generated requests need not name a tool. Real clock, like the plugin's.
 */
export async function startSigil(policyFile: string): Promise<SigilSide> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-diff-'));
  const bundle = join(dir, 'bundle.tar.gz');
  const bytes = opaBuildSources({ 'policy.rego': readFileSync(policyFile, 'utf8') });
  writeFileSync(bundle, bytes);
  // The decider keeps running without a policy it refused (POLICY_NOT_LOADED on every Check): say why up front.
  await loadBundle(bytes).catch((e: PolicyError) => {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`SIGIL refuses ${policyFile}: ${e.code}: ${e.message}`);
  });
  const config = loadConfig({
    env: {},
    overrides: {
      agent: { spiffe_id: agentId('local') },
      authz: { peer_binding: 'off', require_tool: false },
      policy: { bundle, eval_timeout_ms: 5000 },
    },
  });
  const identity = testIdentity();
  const decider = (await createPolicyDecider(config, { registry: new Registry() }))!;
  let n = 0;
  const { check } = checkFromConfig(config, {
    trust: identity.trust,
    ledger: { append: async () => ({ index: n, receipt: `index=${n++}` }) },
    policy: decider,
  });
  const server = await startAuthzServer({ listen: '127.0.0.1:0', check });
  const client = authzClient(server.address);
  return {
    client,
    identity,
    close: async () => {
      client.close();
      await server.close();
      await decider.close?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
