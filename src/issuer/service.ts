/**
 * The issuer service core: Mint, Delegate, Revoke, JWKS, Identity. One class, two thin transports
 * (src/issuer/http.ts, src/issuer/grpc.ts) — every rule (operator credential, request validation,
 * holder-key lookup, token rules) lives here so both transports enforce exactly the same things.
 */
import { credentialMatches } from '../lib/bytes.js';
import { type Clock, systemClock } from '../lib/clock.js';
import type { LifecycleVia, OnLifecycle } from '../lib/lifecycle-event.js';
import type { Ed25519PublicJwk, VerifiedChain, VerifyOptions } from '../token/api.js';
import { delegate, mintRoot, verifyChain } from '../token/index.js';
import type { AgentKey } from './agent-key-store.js';
import { IssuerError } from './errors.js';
import type { Jwks } from './issuer-key-store.js';
import {
  delegateRequestSchema,
  mintRequestSchema,
  parseRequest,
  revokeRequestSchema,
} from './lib/requests.js';
import type { IssuerOptions, IssuerStores } from './open-stores.js';
import type { RevocationList, RevokeResult, RevokeTarget } from './revocation-store.js';

/**
 * Who is calling an operator operation (Mint, Revoke). `local` = the CLI running on this machine
 * with access to the data dir (whoever can read the keys is the operator); `remote` = a network
 * caller presenting a bearer credential, checked against the configured operator credential.
 */
export type Caller =
  | { kind: 'local' }
  | { kind: 'remote'; credential: string | undefined; via?: Exclude<OperatorVia, 'cli'> };

/** The interface an issuer operation came through (recorded in its lifecycle entry). */
export type OperatorVia = Exclude<LifecycleVia, 'serve'>;

/** The local-operator caller (CLI). */
export const LOCAL_OPERATOR: Caller = { kind: 'local' };

/** The interface of a caller: a remote one names its transport (the HTTP one unless it says gRPC). */
const viaOf = (c: Caller): OperatorVia => (c.kind === 'local' ? 'cli' : (c.via ?? 'http'));

/** Result of Mint and Delegate (wire names as in docs/api.md). */
export interface TokenResult {
  /** The whole chain to present. */
  token: string;
  jti: string;
  task_id: string;
  sub: string;
  exp: number;
  depth: number;
  /** False when the new hop has no `cnf` (terminal: nobody can delegate from it). */
  delegable: boolean;
  cnf?: Ed25519PublicJwk;
  /** Key id that signed the new hop. */
  kid: string;
}

/** This sidecar's identity (`GET /v1/identity`). */
export interface Identity {
  spiffe_id: string;
  public_key: Ed25519PublicJwk & { kid: string };
  issuer: string;
  trust_domain: string;
}

/** Dependencies of {@link IssuerService}: the stores {@link openIssuerStores} opened, and the options. */
export interface IssuerServiceDeps extends Omit<IssuerStores, 'close'> {
  options: IssuerOptions;
  clock?: Clock;
  /** Told of every mint, delegation and revocation (docs/ledger.md §4 "Lifecycle entries"). */
  onLifecycle?: OnLifecycle;
  /**
   * Resolves once the trust change just made is in force wherever Checks are decided (every Check worker:
   * docs/workers.md §2); the Revoke transports answer only after it. Absent = in force at once (one process).
   */
  whenInForce?: () => Promise<void>;
}

/** The issuer service core shared by both transports. */
export class IssuerService {
  private readonly opts: IssuerOptions;
  private readonly clock: Clock;
  private readonly operator: string | undefined;

  constructor(private readonly deps: IssuerServiceDeps) {
    this.opts = deps.options;
    this.clock = deps.clock ?? systemClock;
    this.operator = deps.options.operatorCredential;
  }

  /** Checks an operator operation's caller. Mint/Revoke are never open: no configured credential = disabled. */
  checkOperator(caller: Caller, op: 'mint' | 'revoke'): void {
    if (caller.kind === 'local') return;
    if (this.operator === undefined) {
      throw new IssuerError(
        op === 'mint' ? 'ISSUER_MINT_DISABLED' : 'ISSUER_REVOKE_DISABLED',
        `${op} over the network is disabled: configure sigil.issuer.operator_token or operator_token_file`,
      );
    }
    const given = caller.credential;
    if (given === undefined || !credentialMatches(given, this.operator)) {
      throw new IssuerError('ISSUER_UNAUTHORIZED', 'missing or wrong operator credential');
    }
  }

  /** Verifies a chain with this sidecar's trust and limits, optionally for one tool and audience. */
  verify(token: string, extra: Pick<VerifyOptions, 'tool' | 'audience'> = {}): VerifiedChain {
    return verifyChain(token, {
      trust: this.deps.trust,
      clock: this.clock,
      maxChainDepth: this.opts.maxChainDepth,
      maxTtl: this.opts.maxTtl,
      clockSkew: this.opts.clockSkew,
      ...extra,
    });
  }

  /**
   * The result for a token our own verifier accepted: callers verify before handing a token out (fail
   * closed — e.g. a revoked task cannot be re-minted into a token that would only fail later).
   */
  private result(token: string, chain: VerifiedChain, kid: string): TokenResult {
    const leaf = chain.leaf;
    return {
      token,
      jti: leaf.jti,
      task_id: leaf.task_id,
      sub: leaf.sub,
      exp: leaf.exp,
      depth: chain.depth,
      delegable: leaf.cnf !== undefined,
      ...(leaf.cnf ? { cnf: leaf.cnf.jwk } : {}),
      kid,
    };
  }

  /**
   * Mints a root TBIT. `cnf` = the request's `holder_key`, else the key this sidecar holds for `sub`
   * (its own agent, or a dev identity made with `sigil keys init --agent`), else none.
   */
  mint(input: unknown, caller: Caller): TokenResult {
    this.checkOperator(caller, 'mint');
    const out = this.mintToken(input);
    const leaf = out.chain.leaf;
    this.deps.onLifecycle?.({
      kind: 'token.mint',
      via: viaOf(caller),
      iss: leaf.iss,
      sub: leaf.sub,
      task_id: leaf.task_id,
      tool_scope: leaf.tool_scope,
      aud: typeof leaf.aud === 'string' ? [leaf.aud] : leaf.aud,
      jti: leaf.jti,
      exp: leaf.exp,
      ttl: leaf.exp - leaf.iat,
      kid: out.result.kid,
      token_hash: out.chain.tokenHash,
    });
    return out.result;
  }

  private mintToken(input: unknown): { result: TokenResult; chain: VerifiedChain } {
    const req = parseRequest(mintRequestSchema, input, 'mint');
    const holder = req.holder_key ?? this.deps.keys.agents.get(req.sub)?.publicJwk;
    const signer = this.deps.keys.issuer.signer();
    const token = mintRoot({
      issuerKey: signer.privateKey,
      kid: signer.kid,
      iss: this.opts.issuerId,
      sub: req.sub,
      // Default audience: the trust-domain ID, which covers every workload of the domain (docs/tbit.md).
      aud: req.aud ?? `spiffe://${this.opts.trustDomain}`,
      taskId: req.task_id,
      toolScope: req.tool_scope,
      ttl: req.ttl ?? this.opts.maxTtl,
      // mintRoot keeps only the RFC 8037 members (kty, crv, x) of the key in `cnf`.
      ...(holder ? { holderKey: holder } : {}),
      ...(req.jti !== undefined ? { jti: req.jti } : {}),
      ...(req.dmax !== undefined ? { dmax: req.dmax } : {}),
      clock: this.clock,
      maxTtl: this.opts.maxTtl,
      maxChainDepth: this.opts.maxChainDepth,
    });
    const chain = this.verify(token);
    return { result: this.result(token, chain, signer.kid), chain };
  }

  /**
   * Delegate: verifies the caller's chain against this sidecar's trust, finds the local key equal to
   * the leaf `cnf` (refuses with ISSUER_NOT_HOLDER otherwise) and signs the child. The child's `cnf`
   * is `to_key`, else a key held here for `to`, else none (a terminal hop).
   */
  delegate(input: unknown, via: OperatorVia = 'cli'): TokenResult {
    const req = parseRequest(delegateRequestSchema, input, 'delegate');
    const parent = this.verify(req.token);
    const leafCnf = parent.leaf.cnf?.jwk;
    if (leafCnf === undefined) {
      throw new IssuerError(
        'ISSUER_NOT_DELEGABLE',
        'the presented token has no cnf key: it cannot be delegated',
      );
    }
    // One listing of the held keys serves both lookups.
    const held = this.deps.keys.agents.all();
    const holder: AgentKey | undefined = held.find((k) => k.publicJwk.x === leafCnf.x);
    if (holder === undefined) {
      throw new IssuerError(
        'ISSUER_NOT_HOLDER',
        `this sidecar does not hold the key of ${parent.leaf.sub} (leaf cnf)`,
      );
    }
    const childKey = req.to_key ?? held.find((k) => k.spiffeId === req.to)?.publicJwk;
    const token = delegate({
      parentToken: req.token,
      holderPrivateKey: holder.privateKey,
      sub: req.to,
      ...(req.aud !== undefined ? { aud: req.aud } : {}),
      toolScope: req.tool_scope,
      ...(req.ttl !== undefined ? { ttl: req.ttl } : {}),
      ...(req.dmax !== undefined ? { dmax: req.dmax } : {}),
      ...(childKey ? { holderKey: childKey } : {}),
      clock: this.clock,
      maxTtl: this.opts.maxTtl,
      maxChainDepth: this.opts.maxChainDepth,
    });
    const chain = this.verify(token);
    const leaf = chain.leaf;
    this.deps.onLifecycle?.({
      kind: 'token.delegate',
      via,
      sub: leaf.sub,
      parent_sub: parent.leaf.sub,
      task_id: leaf.task_id,
      tool_scope: leaf.tool_scope,
      jti: leaf.jti,
      exp: leaf.exp,
      depth: chain.depth,
      kid: holder.kid,
      parent_hash: parent.tokenHash,
      token_hash: chain.tokenHash,
    });
    return this.result(token, chain, holder.kid);
  }

  /** Revokes a task id or a jti; takes effect in this process at once. */
  revoke(input: unknown, caller: Caller): RevokeResult {
    this.checkOperator(caller, 'revoke');
    const target = this.revokeTarget(input);
    return this.revoked(this.deps.revocations.revokeSync(target), caller);
  }

  /**
   * {@link revoke}, answered once the revocation is in force in every Check worker (`whenInForce`): what the HTTP and
   * gRPC Revoke call. Throws ISSUER_NOT_IN_FORCE when that confirmation fails.
   */
  async revokeInForce(input: unknown, caller: Caller): Promise<RevokeResult> {
    const r = this.revoke(input, caller);
    await this.inForce();
    return r;
  }

  private async inForce(): Promise<void> {
    try {
      await this.deps.whenInForce?.();
    } catch (e) {
      throw new IssuerError(
        'ISSUER_NOT_IN_FORCE',
        'the revocation is recorded but not confirmed in force in every Check worker',
        e,
      );
    }
  }

  /**
   * {@link revoke} that waits for the revocation list's lock instead of failing when another process holds
   * it (the CLI next to a running server).
   */
  async revokeWaiting(input: unknown, caller: Caller): Promise<RevokeResult> {
    this.checkOperator(caller, 'revoke');
    const target = this.revokeTarget(input);
    const r = this.revoked(await this.deps.revocations.revoke(target), caller);
    await this.inForce();
    return r;
  }

  private revokeTarget(input: unknown): RevokeTarget {
    const req = parseRequest(revokeRequestSchema, input, 'revoke');
    return req.task !== undefined ? { task: req.task } : { jti: req.jti! };
  }

  private revoked(r: RevokeResult, caller: Caller): RevokeResult {
    this.deps.onLifecycle?.({
      kind: 'token.revoke',
      via: viaOf(caller),
      ...(r.kind === 'task' ? { task_id: r.id } : { jti: r.id }),
      already: r.already,
    });
    return r;
  }

  /** The published issuer keys. */
  jwks(): Jwks {
    return this.deps.keys.issuer.jwks();
  }

  /** This sidecar's agent SPIFFE ID and public key (created on first use). */
  identity(): Identity {
    const key = this.deps.keys.agents.ensure(this.opts.agentId);
    return {
      spiffe_id: key.spiffeId,
      public_key: key.publicJwk,
      issuer: this.opts.issuerId,
      trust_domain: this.opts.trustDomain,
    };
  }

  /** The current revocation list. */
  revocations(): RevocationList {
    return this.deps.revocations.current();
  }
}
