/** `sigil.issuer`, `sigil.agent` and `sigil.validator` → the issuer's options (the issuer reads no app config). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type SigilConfig } from '../config/index.js';
import type { IssuerOptions } from '../issuer/index.js';

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

/** The issuer's options; reads `operator_token_file` now, so a bad one fails start-up (ConfigError). */
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
    issuerId: issuer.id ?? `spiffe://${issuer.spiffe_trust_domain}/sigil/issuer`,
    agentId: config.agent.spiffe_id,
    trustDomain: issuer.spiffe_trust_domain,
    maxTtl: issuer.max_ttl,
    maxChainDepth: validator.max_chain_depth,
    clockSkew: validator.clock_skew,
    rotationInterval: issuer.key_rotation_interval,
    operatorCredential: operatorCredential(config),
    revocationsPath: validator.revocations ?? join(config.data_dir, 'revocations.json'),
    trustBundle: validator.trust_bundle,
    bundleRefreshMs: validator.refresh_interval * 1000,
    listenHttp: issuer.listen_http,
    listenGrpc: issuer.listen_grpc,
  };
}
