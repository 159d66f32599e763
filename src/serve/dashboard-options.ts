/** `sigil.admin`, `sigil.validator` and `sigil.policy` → the dashboard API `sigil serve` mounts on the admin server. */
import { type AdminApiHandler, dashboardApi } from '../admin/api/index.js';
import type { Clock } from '../lib/clock.js';
import { PolicyEngine } from '../policy/index.js';
import { policyEngineOptions } from './policy-options.js';
import type { SigilParts } from './start-sigil.js';

/**
 * Starts the dashboard API for the running parts. The policy view uses the Check path's engine, so what it shows,
 * evaluates and uploads is the policy in force; only when `parts.policy` is absent does it start an engine of its
 * own on the configured bundle, closed with the handler.
 */
export async function dashboardFromConfig(
  parts: Pick<SigilParts, 'config' | 'logger' | 'ledger' | 'issuer' | 'policy'> & { adminUrl?: string },
  o: { clock?: Clock } = {},
): Promise<AdminApiHandler> {
  const { config } = parts;
  const options = policyEngineOptions(config);
  const own =
    options && !parts.policy
      ? await PolicyEngine.start({ ...options, logger: parts.logger, clock: o.clock })
      : undefined;
  const engine = parts.policy?.engine ?? own;
  const api = dashboardApi({
    adminToken: config.admin.token,
    listen: config.admin.listen,
    adminUrl: parts.adminUrl,
    logger: parts.logger,
    ledger: parts.ledger,
    tokens: {
      trust: parts.issuer.stores.trust,
      maxChainDepth: config.validator.max_chain_depth,
      maxTtl: config.issuer.max_ttl,
      clockSkew: config.validator.clock_skew,
    },
    policy: engine && options && { engine, entrypoint: options.entrypoint },
    clock: o.clock,
  });
  if (own) {
    const close = api.close;
    api.close = () => {
      close();
      void own.close();
    };
  }
  return api;
}
