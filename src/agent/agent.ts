/**
 * SigilAgent: the client side of SIGIL (docs/agent-sdk.md). It holds the agent's key, gets a root token from
 * the local issuer endpoint or takes one delegated to it, narrows it for other agents, refreshes it before it
 * expires, and sends requests with the token and a proof of possession — so the secure path is the default.
 */
import { type Clock, systemClock } from '../lib/clock.js';
import { decodeChain, delegate, type Ed25519PublicJwk } from '../token/index.js';
import { AgentError } from './errors.js';
import { proofHeaders } from './lib/proof.js';
import { type AgentKeyPair, loadAgentKey } from './load-agent-key.js';
import { readDenial } from './read-denial.js';

/** The fetch signature the wrapper takes and gives (the WHATWG one). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of {@link SigilAgent.open}. */
export interface SigilAgentOptions {
  /** This agent's SPIFFE ID (the `sub` of the tokens it holds). */
  spiffeId: string;
  /** Where the agent's key lives (created 0700 on first use). */
  keyDir: string;
  /** The local issuer endpoint, e.g. `http://127.0.0.1:9180` (`sigil.issuer.listen_http`). Needed for startTask. */
  issuerUrl?: string;
  /** The operator credential (`sigil.issuer.operator_token`): Mint needs it (docs/api.md). */
  operatorToken?: string;
  /** Refresh when the token has at most this many seconds left. Default 30. */
  refreshBefore?: number;
  clock?: Clock;
  /** The fetch used underneath. Default `globalThis.fetch`. */
  fetch?: FetchLike;
}

/** A root task token request (the Mint body, docs/api.md). */
export interface RootRequest {
  taskId: string;
  toolScope: string[];
  /** Seconds. Default the issuer's max. */
  ttl?: number;
  aud?: string | string[];
}

/** A delegation to another agent (docs/chains.md §2): narrowed scope, shorter life. */
export interface DelegateRequest {
  /** The other agent's SPIFFE ID. */
  to: string;
  /** The other agent's public key (its `SigilAgent.publicJwk`): the child's `cnf`, which its proofs must match. */
  toKey: Ed25519PublicJwk;
  toolScope: string[];
  /** Seconds; default up to the parent's exp. */
  ttl?: number;
  aud?: string | string[];
  dmax?: number;
}

/** Where a fresh token comes from when the current one runs out. */
type Refresh = () => Promise<string> | string;

/** An agent of the mesh: key, current token, and a fetch that presents both. */
export class SigilAgent {
  readonly spiffeId: string;
  private readonly key: AgentKeyPair;
  private readonly clock: Clock;
  private readonly refreshBefore: number;
  private readonly base: FetchLike;
  private current: { token: string; exp: number } | undefined;
  private refresh: Refresh | undefined;
  private pending: Promise<string> | undefined;

  private constructor(
    private readonly o: SigilAgentOptions,
    key: AgentKeyPair,
  ) {
    this.spiffeId = o.spiffeId;
    this.key = key;
    this.clock = o.clock ?? systemClock;
    this.refreshBefore = o.refreshBefore ?? 30;
    this.base = o.fetch ?? ((i, n) => globalThis.fetch(i, n));
  }

  /** Loads (or creates) the agent's key and returns the agent. No network. */
  static open(o: SigilAgentOptions): SigilAgent {
    if (o.refreshBefore !== undefined && !(Number.isFinite(o.refreshBefore) && o.refreshBefore >= 0)) {
      throw new AgentError('AGENT_CONFIG_INVALID', 'refreshBefore must be a number of seconds ≥ 0');
    }
    if (o.issuerUrl !== undefined && !URL.canParse(o.issuerUrl)) {
      throw new AgentError('AGENT_CONFIG_INVALID', `issuerUrl is not a URL: ${o.issuerUrl}`);
    }
    return new SigilAgent(o, loadAgentKey(o.keyDir, o.spiffeId));
  }

  /** The public key other agents delegate to (and tokens for this agent must carry as `cnf`). */
  get publicJwk(): Ed25519PublicJwk & { kid: string } {
    return this.key.publicJwk;
  }

  /**
   * Gets a root token for a task from the issuer endpoint (`POST /v1/mint`, operator credential) bound to this
   * agent's key (`holder_key`), and re-mints it the same way before it expires.
   */
  async startTask(r: RootRequest): Promise<string> {
    const mint = () => this.mint(r);
    this.adopt(await mint(), mint);
    return this.current!.token;
  }

  /**
   * Uses a token another agent delegated to this one. `refresh` (e.g. a call back to the delegator) gets a new
   * one before it expires; without it, an expired token fails with AGENT_TOKEN_EXPIRED.
   */
  acceptToken(token: string, refresh?: Refresh): void {
    this.adopt(token, refresh);
  }

  /** The token to present now, refreshed first when it has at most `refreshBefore` seconds left. */
  async token(): Promise<string> {
    const c = this.current;
    if (c === undefined)
      throw new AgentError('AGENT_NO_TOKEN', 'no token: call startTask or acceptToken first');
    const now = this.clock.nowMs() / 1000;
    if (c.exp - now > this.refreshBefore) return c.token;
    const refresh = this.refresh;
    if (refresh === undefined) {
      if (c.exp > now) return c.token;
      throw new AgentError('AGENT_TOKEN_EXPIRED', 'the token expired and there is no refresh for it');
    }
    // One refresh at a time: concurrent requests wait for the same new token.
    this.pending ??= (async () => {
      try {
        this.adopt(await refresh(), refresh);
        return this.current!.token;
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }

  /** Signs a narrowed child token for another agent with this agent's key (docs/chains.md §2). */
  async delegate(r: DelegateRequest): Promise<string> {
    return delegate({
      parentToken: await this.token(),
      holderPrivateKey: this.key.privateKey,
      sub: r.to,
      toolScope: r.toolScope,
      holderKey: r.toKey,
      clock: this.clock,
      ...(r.ttl !== undefined ? { ttl: r.ttl } : {}),
      ...(r.aud !== undefined ? { aud: r.aud } : {}),
      ...(r.dmax !== undefined ? { dmax: r.dmax } : {}),
    });
  }

  /**
   * `fetch` with the token (`Authorization: Bearer`) and a fresh proof for exactly this method, URL and body.
   * A SIGIL deny becomes a {@link SigilDeniedError}; every other answer is returned as is. Arrow function, so
   * it can be handed over on its own (`{ fetch: agent.fetch }`).
   */
  readonly fetch: FetchLike = async (input, init) => {
    const req = new Request(input, init);
    const token = await this.token();
    const body = req.body === null ? undefined : new Uint8Array(await req.arrayBuffer());
    const headers = new Headers(req.headers);
    headers.set('authorization', `Bearer ${token}`);
    const proof = proofHeaders({
      method: req.method,
      url: req.url,
      body,
      token,
      key: this.key,
      nowMs: this.clock.nowMs(),
    });
    for (const [k, v] of Object.entries(proof)) headers.set(k, v);
    const res = await this.base(req.url, {
      method: req.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: req.signal,
      // Never follow a redirect with the token: the proof is bound to this URL, so following is useless under
      // SIGIL and would hand the token (and a spent proof) to wherever the redirect points. 3xx is returned.
      redirect: req.redirect === 'error' ? 'error' : 'manual',
    });
    const denial = await readDenial(res);
    if (denial) throw denial;
    return res;
  };

  /** Takes `token` as current after checking that its leaf names this agent's key (its proofs would fail). */
  private adopt(token: string, refresh: Refresh | undefined): void {
    let leaf: ReturnType<typeof decodeChain>[number]['claims'];
    try {
      leaf = decodeChain(token).at(-1)!.claims;
    } catch (e) {
      throw new AgentError('AGENT_CONFIG_INVALID', 'the token does not decode as a TBIT chain', { cause: e });
    }
    if (leaf.cnf?.jwk.x !== this.key.publicJwk.x) {
      throw new AgentError(
        'AGENT_NOT_HOLDER',
        `the token's leaf cnf is not the key of ${this.spiffeId}: its proofs would be refused`,
      );
    }
    this.current = { token, exp: leaf.exp };
    this.refresh = refresh;
  }

  /** `POST /v1/mint` (docs/api.md). */
  private async mint(r: RootRequest): Promise<string> {
    const { issuerUrl, operatorToken } = this.o;
    if (issuerUrl === undefined) throw new AgentError('AGENT_CONFIG_INVALID', 'startTask needs issuerUrl');
    if (operatorToken === undefined)
      throw new AgentError('AGENT_CONFIG_INVALID', 'startTask needs operatorToken');
    const { kid: _kid, ...holder } = this.key.publicJwk;
    const body = {
      sub: this.spiffeId,
      task_id: r.taskId,
      tool_scope: r.toolScope,
      holder_key: holder,
      ...(r.ttl !== undefined ? { ttl: r.ttl } : {}),
      ...(r.aud !== undefined ? { aud: r.aud } : {}),
    };
    let res: Response;
    try {
      res = await this.base(new URL('/v1/mint', issuerUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorToken}` },
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw new AgentError('AGENT_ISSUER_FAILED', `issuer ${issuerUrl} unreachable`, { cause: e });
    }
    const out = (await res.json().catch(() => ({}))) as { token?: unknown; code?: unknown; error?: unknown };
    if (!res.ok || typeof out.token !== 'string') {
      const code = typeof out.code === 'string' ? out.code : undefined;
      throw new AgentError(
        'AGENT_ISSUER_FAILED',
        `mint refused (${res.status} ${code ?? '-'}): ${typeof out.error === 'string' ? out.error : ''}`,
        code !== undefined ? { issuerCode: code } : {},
      );
    }
    return out.token;
  }
}
