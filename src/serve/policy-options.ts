/** `sigil.policy` → the policy engine's options, and the policy step `sigil serve` runs. */
import type { SigilConfig } from '../config/index.js';
import { type PolicyDeciderHandle, type PolicyEngineOptions, startPolicyDecider } from '../policy/index.js';
import { readCaFile } from './read-ca-file.js';

/**
 * The engine options `sigil.policy` describes; undefined when `sigil.policy.bundle` is not set. Reads
 * `sigil.policy.ca_file` now (ConfigError naming the key when missing or not PEM).
 */
export function policyEngineOptions(
  config: SigilConfig,
): (PolicyEngineOptions & { entrypoint: string }) | undefined {
  const p = config.policy;
  if (!p.bundle) return undefined;
  return {
    source: p.bundle,
    allowLoopbackHttp: p.allow_loopback_http,
    ...(p.ca_file !== undefined ? { ca: readCaFile('sigil.policy.ca_file', p.ca_file) } : {}),
    entrypoint: p.entrypoint,
    pollIntervalMs: p.poll_interval * 1000,
    evalTimeoutMs: p.eval_timeout_ms,
    isolation: p.isolation,
  };
}

/**
 * Dependencies of {@link createPolicyDecider}; `pollIntervalMs` overrides `sigil.policy.poll_interval`
 * (tests use a short one).
 */
export type PolicyDeciderDeps = Pick<
  PolicyEngineOptions,
  'logger' | 'registry' | 'clock' | 'pollIntervalMs' | 'onLifecycle'
>;

/**
 * The policy step for `sigil serve`: undefined when `sigil.policy.bundle` is not set (the pipeline then runs its
 * built-in TBIT-only policy), else a decider backed by a hot-reloaded OPA Wasm bundle.
 */
export async function createPolicyDecider(
  config: SigilConfig,
  deps: PolicyDeciderDeps = {},
): Promise<PolicyDeciderHandle | undefined> {
  const options = policyEngineOptions(config);
  return options && startPolicyDecider({ ...options, ...deps });
}
