/**
 * Builds the Check function from validated configuration: the one place that maps `sigil.authz`,
 * `sigil.validator`, `sigil.issuer` and `sigil.policy` keys onto the authz pipeline's options.
 */
import {
  type AuthzServerOptions,
  type AuthzTransport,
  ChainCache,
  type CheckFn,
  createCheck,
  createProofCheck,
  type DecisionEvent,
  type DecisionSink,
  defaultPolicy,
  type ProofCheck,
  type ReplaySpender,
  toolResolver,
} from '../authz/index.js';
import { ConfigError, type SigilConfig } from '../config/index.js';
import { type Clock, systemClock } from '../lib/clock.js';
import type { HookDecider } from '../policy/api.js';
import type { TrustStore } from '../token/api.js';

/** Runtime parts of {@link checkFromConfig}. */
export interface CheckDeps {
  trust: TrustStore;
  ledger: DecisionSink;
  /** Default: {@link defaultPolicy} (steps 1–4 only). */
  policy?: HookDecider;
  clock?: Clock;
  onDecision?: (event: DecisionEvent) => void;
  /** Bound of the verified-chain cache. Default 10 000. */
  cacheEntries?: number;
  /** The proof replay cache; default an in-process one (a Check worker passes the primary's: docs/workers.md §4). */
  replay?: ReplaySpender;
}

/** The Check function plus its cache (exposed for metrics and tests). */
export interface ConfiguredCheck {
  check: CheckFn;
  chains: ChainCache;
  /** The audience this sidecar enforces. */
  audience: string;
}

/** Wires the pipeline for `config`. Throws ConfigError (CONFIG_INVALID) on an invalid route pattern. */
export function checkFromConfig(config: SigilConfig, deps: CheckDeps): ConfiguredCheck {
  const clock = deps.clock ?? systemClock;
  const audience = config.authz.audience ?? config.agent.spiffe_id;
  const chains = new ChainCache({
    trust: deps.trust,
    clock,
    audience,
    ttlSeconds: config.validator.cache_ttl,
    maxChainDepth: config.validator.max_chain_depth,
    maxTtl: config.issuer.max_ttl,
    clockSkew: config.validator.clock_skew,
    ...(deps.cacheEntries ? { maxEntries: deps.cacheEntries } : {}),
  });
  const tools = asConfigError('sigil.authz.routes', () =>
    toolResolver({
      toolHeader: config.authz.tool_header,
      routes: config.authz.routes,
      publicRoutes: config.authz.public_routes,
    }),
  );
  const proof: ProofCheck | undefined = !proofEnabled(config)
    ? undefined
    : asConfigError('sigil.authz.proof_overrides', () =>
        createProofCheck({
          mode: config.authz.proof,
          overrides: config.authz.proof_overrides,
          windowS: config.authz.proof_window_s,
          skewS: config.validator.clock_skew,
          maxEntries: config.authz.proof_replay_cache_max,
          ...(deps.replay ? { replay: deps.replay } : {}),
        }),
      );
  const check = createCheck({
    chains,
    tools,
    ledger: deps.ledger,
    policy: deps.policy ?? defaultPolicy,
    clock,
    tokenHeader: config.authz.token_header,
    stripToken: config.authz.strip_token,
    peerBinding: config.authz.peer_binding,
    maxBodyBytes: config.authz.max_body_bytes,
    requireTool: config.authz.require_tool,
    ...(proof ? { proof } : {}),
    policyTimeoutMs: config.policy.eval_timeout_ms,
    ...(deps.onDecision ? { onDecision: deps.onDecision } : {}),
  });
  return { check, chains, audience };
}

/** Runs `build`; an Error it throws (an invalid pattern) becomes CONFIG_INVALID naming `key`. */
function asConfigError<T>(key: string, build: () => T): T {
  try {
    return build();
  } catch (e) {
    throw new ConfigError('CONFIG_INVALID', `config ${key}: ${(e as Error).message}`, { cause: e });
  }
}

/** Largest CheckRequest the ext_authz server accepts: room for `authz.max_body_bytes` twice plus headers. */
export function maxCheckMessageBytes(config: SigilConfig): number {
  return Math.max(4 * 1024 * 1024, 2 * config.authz.max_body_bytes + 1024 * 1024);
}

/** The listener's gRPC stack: `h2` (deprecated) runs grpc-js. */
export function authzTransport(config: SigilConfig): AuthzTransport {
  return config.authz.transport === 'h2c' ? 'h2c' : 'grpc-js';
}

/** What `sigil serve` and each Check worker give the ext_authz listener besides its address and check. */
export function listenerOptions(
  config: SigilConfig,
): Pick<AuthzServerOptions, 'transport' | 'maxMessageBytes' | 'idleTimeoutMs'> {
  return {
    transport: authzTransport(config),
    maxMessageBytes: maxCheckMessageBytes(config),
    idleTimeoutMs: config.authz.idle_timeout_s * 1000,
  };
}

/** True when some request may need a proof of possession checked (`authz.proof` or an override says so). */
export function proofEnabled(config: SigilConfig): boolean {
  return config.authz.proof !== 'off' || config.authz.proof_overrides.length > 0;
}
