/**
 * The configuration schema: the seed's keys and defaults, plus what the sidecar needs.
 * Validated once at start-up (zod); every error names the full key, e.g. `sigil.issuer.max_ttl`.
 * Each component owns its section; defaults here are what `sigil serve` runs with when no file is given.
 */
import { z } from 'zod';

const listenForm = 'must be host:port, [v6]:port or unix:/path (e.g. 127.0.0.1:9191)';
/** A listen address; a bare port (`listen: 9191` in YAML) gets the same message, not "expected string". */
const hostPort = z
  .string({ error: listenForm })
  .regex(/^(unix:.+|[^\s:]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5})$/, listenForm);
/** An integer in [min, max]. */
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const seconds = (max = 31_536_000) => int(1, max);
const spiffeLike = z.string().startsWith('spiffe://', 'must be a spiffe:// ID');

const issuer = z
  .strictObject({
    /** `iss` of root tokens minted here. Defaults to spiffe://<trust domain>/sigil/issuer. */
    id: spiffeLike.optional(),
    max_ttl: seconds(300).default(300),
    key_rotation_interval: seconds().default(3600),
    spiffe_trust_domain: z
      .string()
      .regex(/^[a-z0-9._-]{1,255}$/, 'must be a lowercase SPIFFE trust domain name')
      .default('sigil.mesh'),
    /** HTTP/JSON issuer endpoint. Loopback by default. */
    listen_http: hostPort.default('127.0.0.1:9180'),
    /** gRPC issuer endpoint (proto/sigil/issuer/v1). */
    listen_grpc: hostPort.default('127.0.0.1:9181'),
    /** Operator credential required by Mint. Absent = Mint disabled (never open by default). */
    operator_token: z.string().min(16, 'must be at least 16 characters').optional(),
    /** File holding the operator credential (alternative to operator_token). */
    operator_token_file: z.string().optional(),
  })
  .prefault({});

const validator = z
  .strictObject({
    cache_ttl: seconds(3600).default(60),
    max_chain_depth: int(1, 10).default(10),
    /** Allowed clock skew for iat/nbf/exp checks, in seconds. */
    clock_skew: int(0, 60).default(5),
    /** JWKS of trusted issuers: file path or http(s) URL. Default: this sidecar's own issuer keys. */
    trust_bundle: z.string().optional(),
    /** Revocation list: file path or http(s) URL. Default: <data_dir>/revocations.json. */
    revocations: z.string().optional(),
    /** How often file/URL trust data is re-read, in seconds. */
    refresh_interval: seconds(3600).default(30),
  })
  .prefault({});

const audit = z
  .strictObject({
    merkle_hash: z.literal('sha256').default('sha256'),
    /** Accepted for seed compatibility; the log is append-only and never compacts entries. */
    compaction_interval: seconds().default(86400),
    /** `sync`: append resolves once durable. `fast`: bounded loss window (docs/ledger.md). */
    durability: z.enum(['sync', 'fast']).default('sync'),
    /** Signed checkpoint interval in seconds (0 = only on demand). */
    checkpoint_interval: int(0, 86400).default(60),
    /** Checkpoint origin line (C2SP tlog-checkpoint). Default: <trust domain>/sigil/audit. */
    origin: z.string().min(1).optional(),
    /**
     * Tree hashing of long append runs on a worker thread: `auto` = on when the process can keep more than
     * one CPU busy (affinity mask capped by a cgroup CPU quota), `on`, `off`. docs/ledger.md §3.
     */
    hash_thread: z.enum(['auto', 'on', 'off']).default('auto'),
  })
  .prefault({});

const route = z
  .strictObject({
    method: z.string().default('*'),
    path: z.string().min(1),
    tool: z.string().min(1),
  })
  .strict();

const authz = z
  .strictObject({
    /** ext_authz gRPC listener: host:port or unix:/path. */
    listen: hostPort.default('127.0.0.1:9191'),
    /**
     * Deprecated (docs/authz.md §Transport): the listener always runs @grpc/grpc-js. `h2` is still accepted so
     * existing files load; `sigil serve` warns once when it is set.
     */
    transport: z.enum(['grpc-js', 'h2']).default('grpc-js'),
    /** Header carrying the bearer token. */
    token_header: z.string().toLowerCase().default('authorization'),
    /** Expected leaf `aud`. Default: this sidecar's agent SPIFFE ID. */
    audience: spiffeLike.optional(),
    /** mTLS peer binding: leaf sub must equal source.principal. */
    peer_binding: z.enum(['require', 'when_present', 'off']).default('when_present'),
    /** Header naming the tool when the body is not MCP. */
    tool_header: z.string().toLowerCase().default('x-sigil-tool'),
    /** Route rules: method + path pattern → tool name. */
    routes: z.array(route).default([]),
    /** Remove the bearer token before the request goes upstream. */
    strip_token: z.boolean().default(true),
    /** Routes allowed without a valid chain (still logged). */
    public_routes: z.array(route.omit({ tool: true })).default([]),
    /** Largest request body inspected for MCP JSON-RPC, in bytes. */
    max_body_bytes: int(0, 16 * 1024 * 1024).default(1024 * 1024),
    /** A verified request naming no tool (body, header, routes) is denied (AUTHZ_NO_TOOL); false = allowed on identity alone. */
    require_tool: z.boolean().default(true),
  })
  .prefault({});

const policy = z
  .strictObject({
    /** OPA bundle: file path or http(s) URL. Absent = built-in policy (TBIT rules only). */
    bundle: z.string().optional(),
    entrypoint: z.string().min(1).default('envoy/authz/allow'),
    poll_interval: seconds(3600).default(10),
    /** Policy evaluation budget; 250 ms is measured not to cut real evaluations on a busy 2-core host (docs/policy.md §7). */
    eval_timeout_ms: int(1, 10_000).default(250),
    /** `inline`: evaluate on the event loop, budget measured. `worker`: worker thread terminated at the budget (docs/policy.md §7). */
    isolation: z.enum(['inline', 'worker']).default('inline'),
  })
  .prefault({});

const admin = z
  .strictObject({
    listen: hostPort.default('127.0.0.1:9190'),
    /** Admin credential for the dashboard API. Absent = a random one is generated into <data_dir>/admin-token (0600). */
    token: z.string().min(16, 'must be at least 16 characters').optional(),
  })
  .prefault({});

const agent = z
  .strictObject({
    /** This sidecar's local agent. */
    spiffe_id: spiffeLike.default('spiffe://sigil.mesh/agent/local/dev'),
  })
  .prefault({});

const log = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .prefault({});

const runtime = z
  .strictObject({
    /**
     * V8's old-generation growing factor as a percentage (`--heap-growing-percent`): after a major GC the
     * old generation may grow to (1 + p/100) × its live size before the next one. 200 = 3×: fewer, larger
     * major GCs, which is what a latency-bound sidecar wants (docs/authz.md §8, "Garbage collection").
     * 0 = V8's own heuristic. Process-wide, so `sigil serve` applies it, not the library.
     */
    gc_heap_growing_percent: int(0, 1000).default(200),
  })
  .prefault({});

/** Schema of the whole file: everything lives under the top-level `sigil:` key. */
export const configSchema = z.strictObject({
  sigil: z
    .strictObject({
      data_dir: z.string().min(1).default('./.sigil'),
      agent,
      issuer,
      validator,
      audit,
      authz,
      policy,
      admin,
      log,
      runtime,
    })
    .prefault({}),
});

/** Fully-defaulted, validated configuration. */
export type SigilConfig = z.output<typeof configSchema>['sigil'];

/** The schema node at `path` with optional/default/prefault wrappers removed; undefined when unknown. */
function nodeAt(path: readonly string[]): z.core.$ZodType | undefined {
  let node: z.core.$ZodType | undefined = configSchema;
  for (let i = 0; ; i++) {
    // Unwrap `.optional()`, `.default()`, `.prefault()` (each keeps the real type in `innerType`).
    while (node && 'innerType' in node._zod.def) node = node._zod.def.innerType as z.core.$ZodType;
    if (!node || i === path.length) return node;
    if (!(node instanceof z.ZodObject)) return undefined;
    node = (node.shape as Record<string, z.core.$ZodType>)[path[i]!];
  }
}

/**
 * True when the schema expects a string at `path` (e.g. `['sigil', 'authz', 'listen']`). Environment
 * overrides for such keys are taken verbatim instead of being parsed as YAML.
 */
export function expectsString(path: readonly string[]): boolean {
  return nodeAt(path) instanceof z.ZodString;
}
