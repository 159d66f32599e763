/** `sigil.issuer`, `sigil.agent` and `sigil.validator` → the issuer's options (the issuer reads no app config). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type SigilConfig } from '../config/index.js';
import type { IssuerOptions, TrustSource } from '../issuer/index.js';
import { readCaFile } from './read-ca-file.js';

/** `operator_token`, else the trimmed `operator_token_file` (≥ 16 chars); undefined = none. */
function operatorCredential({ issuer }: SigilConfig): string | undefined {
  const file = issuer.operator_token_file;
  if (issuer.operator_token !== undefined || file === undefined) return issuer.operator_token;
  const fail = (code: 'CONFIG_INVALID' | 'CONFIG_UNREADABLE', why: string, cause?: unknown) =>
    new ConfigError(code, `config sigil.issuer.operator_token_file: ${why}`, { cause });
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw fail('CONFIG_UNREADABLE', (e as Error).message, e);
  }
  if (text.length < 16) throw fail('CONFIG_INVALID', 'credential must be at least 16 characters');
  return text;
}

/** This sidecar's own issuer id: `sigil.issuer.id`, else spiffe://<trust domain>/sigil/issuer. */
export function ownIssuerId({ issuer }: SigilConfig): string {
  return issuer.id ?? `spiffe://${issuer.spiffe_trust_domain}/sigil/issuer`;
}

/**
 * `sigil.validator.trust_bundles` → trust sources (CA files read now). The deprecated single `trust_bundle` is
 * bound to this sidecar's own issuer id and trust domain only: that is all it could safely mean (sidecars of one
 * mesh sharing the default issuer id), and `sigil serve` warns that it was narrowed.
 */
export function trustSources(config: SigilConfig): TrustSource[] {
  const v = config.validator;
  if (v.trust_bundle !== undefined) {
    return [
      {
        source: v.trust_bundle,
        issuers: [ownIssuerId(config)],
        trustDomains: [config.issuer.spiffe_trust_domain],
      },
    ];
  }
  return v.trust_bundles.map((t, i) => ({
    source: t.source,
    issuers: t.issuers,
    trustDomains: t.trust_domains,
    allowLoopbackHttp: t.allow_loopback_http,
    ...(t.revocations !== undefined ? { revocations: t.revocations } : {}),
    ...(t.ca_file !== undefined
      ? { ca: readCaFile(`sigil.validator.trust_bundles.${i}.ca_file`, t.ca_file) }
      : {}),
  }));
}

/** The start-up warning for a deprecated `sigil.validator.trust_bundle`, or undefined when it is not set. */
export function trustBundleWarning(config: SigilConfig): string | undefined {
  if (config.validator.trust_bundle === undefined) return undefined;
  return (
    `sigil.validator.trust_bundle is deprecated: its keys now vouch only for issuer ${ownIssuerId(config)} ` +
    `and trust domain ${config.issuer.spiffe_trust_domain}; list other issuers in sigil.validator.trust_bundles ` +
    '(source, issuers, trust_domains)'
  );
}

/** The issuer's options; reads `operator_token_file` and CA files now, so a bad one fails start-up (ConfigError). */
export function issuerOptions(config: SigilConfig): IssuerOptions {
  const { issuer, validator } = config;
  // This sidecar writes its revocation list (sigil revoke): a URL would be silently read-only, so refuse it.
  if (validator.revocations && /^https?:\/\//i.test(validator.revocations))
    throw new ConfigError(
      'CONFIG_INVALID',
      'config sigil.validator.revocations: must be a file path (URLs are not supported)',
    );
  return {
    dataDir: config.data_dir,
    issuerId: ownIssuerId(config),
    agentId: config.agent.spiffe_id,
    trustDomain: issuer.spiffe_trust_domain,
    maxTtl: issuer.max_ttl,
    maxChainDepth: validator.max_chain_depth,
    clockSkew: validator.clock_skew,
    rotationInterval: issuer.key_rotation_interval,
    operatorCredential: operatorCredential(config),
    revocationsPath: validator.revocations ?? join(config.data_dir, 'revocations.json'),
    trustSources: trustSources(config),
    bundleRefreshMs: validator.refresh_interval * 1000,
    listenHttp: issuer.listen_http,
    listenGrpc: issuer.listen_grpc,
  };
}
