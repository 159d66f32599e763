/** `sigil.authz.workers` → how many Check worker processes to fork (docs/authz.md §12): the one place that maps it. */
import type { SigilConfig } from '../../config/index.js';
import { cpuBudget } from '../../lib/cpu-budget.js';

/** The worker count for `config`: 1 = the single process; `auto` = the CPUs this process may use (at most 64). */
export function workersFromConfig(config: SigilConfig, cpus: () => number = cpuBudget): number {
  const w = config.authz.workers;
  const n = w === 'auto' ? Math.min(64, cpus()) : w;
  return Math.max(1, n);
}
