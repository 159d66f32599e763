/**
 * `sigil.authz.workers` → how many Check worker processes to fork (docs/authz.md §12). The one place that maps
 * the key, and that refuses the features whose state is not yet replicated to workers: a worker must decide
 * with exactly what the primary would (docs/sizing.md §6), so `workers > 1` runs only where that holds.
 */
import { ConfigError, type SigilConfig } from '../../config/index.js';
import { cpuBudget } from '../../lib/cpu-budget.js';

/**
 * The worker count for `config`: 1 = today's single process; `auto` = the CPUs this process may use.
 * Throws ConfigError CONFIG_INVALID naming both keys when `workers > 1` meets a feature workers cannot mirror yet:
 * trust bundles (other issuers' keys and revocations), an OPA policy bundle, proofs of possession (the replay
 * cache must be one per sidecar, docs/proof.md §6).
 */
export function workersFromConfig(config: SigilConfig, cpus: () => number = cpuBudget): number {
  const w = config.authz.workers;
  const n = w === 'auto' ? Math.min(64, cpus()) : w;
  if (n <= 1) return 1;
  const refuse = (key: string, why: string) => {
    throw new ConfigError(
      'CONFIG_INVALID',
      `config sigil.authz.workers: ${n} workers cannot run with ${key} yet (${why}); set sigil.authz.workers: 1 or remove ${key}`,
    );
  };
  if (config.validator.trust_bundle !== undefined)
    refuse('sigil.validator.trust_bundle', 'trust bundles are not replicated to workers');
  if (config.validator.trust_bundles.length > 0)
    refuse('sigil.validator.trust_bundles', 'trust bundles are not replicated to workers');
  if (config.policy.bundle !== undefined)
    refuse('sigil.policy.bundle', 'policy bundles are not replicated to workers');
  if (config.authz.proof !== 'off')
    refuse('sigil.authz.proof', 'the proof replay cache is per process; set it to off');
  if (config.authz.proof_overrides.length > 0)
    refuse('sigil.authz.proof_overrides', 'the proof replay cache is per process');
  return n;
}
