/**
 * The configuration schema: the seed's keys and defaults, plus what the sidecar needs.
 * Validated once at start-up (zod); every error names the full key, e.g. `sigil.issuer.max_ttl`.
 * Each component owns its section; defaults here are what `sigil serve` runs with when no file is given.
 */
import { z } from 'zod';
import { parseVerifierKey } from '../ledger/browser.js';
import { sourceKind, sourceProblem } from '../lib/source-url.js';
import { isScopePattern } from '../token/index.js';
import { parseCosignerKey } from '../witness/index.js';

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

/** A SPIFFE ID (SPIFFE-ID.md §2): lowercase trust domain, then `/segment`s without `.`/`..`. */
const spiffeId = z
  .string()
  .regex(
    /^spiffe:\/\/[a-z0-9._-]{1,255}(\/(?!\.\.?(\/|$))[A-Za-z0-9._-]+)*$/,
    'must be a SPIFFE ID (spiffe://<trust domain>/<path>)',
  );
/** A trust domain name (SPIFFE-ID.md §2.1), without the `spiffe://` scheme. */
const trustDomainName = z
  .string()
  .regex(/^[a-z0-9._-]{1,255}$/, 'must be a lowercase SPIFFE trust domain name (e.g. sigil.mesh, no scheme)');

/**
 * Transport keys of a remote source (docs/keys.md §Remote sources): https only; `http://` only to a loopback
 * host with `allow_loopback_http: true`; `ca_file` pins the CA (PEM) trusted for the source's TLS.
 */
const transport = {
  /** PEM CA certificate(s): when set, the only roots trusted for this source's https. Read at start-up. */
  ca_file: z.string().min(1).optional(),
  /** Accept `http://` when the host is 127.0.0.0/8, ::1 or localhost (tests, a local bundle server). */
  allow_loopback_http: z.boolean().default(false),
};

/**
 * Adds an issue at `key` when `location` may not be read with these transport settings, or at `ca_file` when a CA
 * is pinned on a source that does not use TLS (the pin would protect nothing).
 */
function checkSource(
  ctx: z.RefinementCtx,
  key: string,
  location: string,
  t: { ca_file?: string | undefined; allow_loopback_http?: boolean },
): void {
  const problem = sourceProblem(location, { allowLoopbackHttp: t.allow_loopback_http === true });
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: [key] });
  else if (t.ca_file !== undefined && sourceKind(location) !== 'https')
    ctx.addIssue({ code: 'custom', message: `needs an https:// ${key} to pin its CA`, path: ['ca_file'] });
}

/** One trust bundle and what its keys may vouch for (docs/keys.md §Trust for other issuers). */
const trustSource = z
  .strictObject({
    /** JWKS: file path or https URL. */
    source: z.string().min(1),
    /** Root `iss` values the bundle's keys may sign. */
    issuers: z.array(spiffeId).min(1, 'must name at least one issuer'),
    /** Trust domains a root `sub` signed by the bundle's keys may be in. */
    trust_domains: z.array(trustDomainName).min(1, 'must name at least one trust domain'),
    /** A separate revocation list for this bundle: file path or https URL (same transport settings). */
    revocations: z.string().min(1).optional(),
    ...transport,
  })
  .superRefine((t, ctx) => {
    checkSource(ctx, 'source', t.source, t);
    // The pinned CA applies to whichever of the two is https; only the bundle itself must be.
    if (t.revocations !== undefined)
      checkSource(ctx, 'revocations', t.revocations, { allow_loopback_http: t.allow_loopback_http });
  });

const validator = z
  .strictObject({
    cache_ttl: seconds(3600).default(60),
    max_chain_depth: int(1, 10).default(10),
    /** Allowed clock skew for iat/nbf/exp checks, in seconds. */
    clock_skew: int(0, 60).default(5),
    /**
     * Deprecated single bundle (file path or https URL): its keys vouch only for this sidecar's own issuer id and
     * trust domain (a start-up warning says so). Use `trust_bundles` to trust other issuers.
     */
    trust_bundle: z.string().min(1).optional(),
    /** Other issuers' JWKS, each bound to the issuers and trust domains it may vouch for. */
    trust_bundles: z.array(trustSource).default([]),
    /** Revocation list: file path or http(s) URL. Default: <data_dir>/revocations.json. */
    revocations: z.string().optional(),
    /** How often file/URL trust data is re-read, in seconds. */
    refresh_interval: seconds(3600).default(30),
  })
  .superRefine((v, ctx) => {
    if (v.trust_bundle === undefined) return;
    if (v.trust_bundles.length > 0)
      ctx.addIssue({
        code: 'custom',
        message: 'set trust_bundles or trust_bundle, not both',
        path: ['trust_bundle'],
      });
    else checkSource(ctx, 'trust_bundle', v.trust_bundle, {});
  })
  .prefault({});

/** Binary and decimal byte units of {@link byteReserve}. */
const UNIT: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
};
const reserveForm = 'must be bytes (an integer, or e.g. "256MiB", "1GB") or a share of the disk ("5%")';
/**
 * Free space to keep on a filesystem: an integer number of bytes, a string with a unit (`256MiB`, `2GB`), or a
 * percentage of the filesystem's size (`5%`, more than 0 and less than 100).
 */
const byteReserve = z
  .union([z.number().int().min(0), z.string()], { error: reserveForm })
  .transform((v, ctx): { bytes: number } | { percent: number } => {
    if (typeof v === 'number') return { bytes: v };
    const pct = /^\s*(\d{1,2}(?:\.\d+)?)\s*%\s*$/.exec(v);
    if (pct && Number(pct[1]) > 0) return { percent: Number(pct[1]) };
    const m = /^\s*(\d{1,16})\s*([a-zA-Z]{0,3})\s*$/.exec(v);
    const unit = m ? UNIT[(m[2] as string).toLowerCase()] : undefined;
    const bytes = m && unit !== undefined ? Number(m[1]) * unit : Number.NaN;
    if (Number.isSafeInteger(bytes)) return { bytes };
    ctx.addIssue({ code: 'custom', message: reserveForm });
    return z.NEVER;
  });

const DURATION_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const durationForm = 'must be a duration: seconds (an integer), or e.g. "90m", "36h", "30d", "2w"';
/** A duration in seconds (≥ 1): an integer, or a string with a unit s, m, h, d, w. Yields seconds. */
const duration = z.union([z.number(), z.string()], { error: durationForm }).transform((v, ctx): number => {
  const m = typeof v === 'string' ? /^\s*(\d{1,12})\s*([smhdw]?)\s*$/.exec(v) : undefined;
  const secs =
    typeof v === 'number' ? v : m ? Number(m[1]) * (DURATION_UNIT[m[2] || 's'] as number) : Number.NaN;
  if (Number.isSafeInteger(secs) && secs >= 1) return secs;
  ctx.addIssue({ code: 'custom', message: durationForm });
  return z.NEVER;
});

/** A witness URL: the tlog-witness submission prefix (http is allowed: requests carry no secret, answers are signed). */
const witnessUrl = z
  .string()
  .regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'must be an http(s) URL (the witness submission prefix)');

/** A witness of this sidecar's log (docs/witness.md §Configuration). */
const auditWitness = z
  .strictObject({
    /** The witness's cosigner name (its key name), e.g. `b.mesh/witness`. */
    name: z.string().min(1),
    /** Submission prefix: checkpoints go to `POST <url>/add-checkpoint`. */
    url: witnessUrl,
    /** Cosigner vkey: `<name>+<hex key ID>+<base64(0x04 ‖ Ed25519 key)>` (c2sp.org/tlog-cosignature). */
    key: z.string().min(1),
  })
  .superRefine((w, ctx) => {
    try {
      const k = parseCosignerKey(w.key);
      if (k.name !== w.name)
        ctx.addIssue({
          code: 'custom',
          path: ['key'],
          message: `key name "${k.name}" is not the witness name "${w.name}"`,
        });
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['key'], message: (e as Error).message });
    }
  });

/** A log this sidecar witnesses (`sigil.witness.logs`). */
const witnessedLog = z
  .strictObject({
    /** The log's checkpoint origin line. */
    origin: z.string().min(1),
    /** The log's note verifier key (`<origin>+<hex id>+<base64(0x01 ‖ key)>`), as `sigil audit checkpoint` prints it. */
    key: z.string().min(1),
  })
  .superRefine((l, ctx) => {
    try {
      const k = parseVerifierKey(l.key);
      if (k.name !== l.origin)
        ctx.addIssue({
          code: 'custom',
          path: ['key'],
          message: `key name "${k.name}" is not the origin "${l.origin}"`,
        });
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['key'], message: (e as Error).message });
    }
  });

/** SIGIL as a tlog-witness on the admin server (docs/witness.md §SIGIL as a witness). */
const witness = z
  .strictObject({
    /** Cosigner name (a schema-less URL, e.g. `a.mesh/witness`). Absent: this sidecar witnesses no log. */
    name: z
      .string()
      .regex(/^[^\s+]+$/, 'must be a key name (no spaces or +)')
      .optional(),
    /** The logs it accepts checkpoints from. */
    logs: z.array(witnessedLog).default([]),
  })
  .superRefine((w, ctx) => {
    const seen = new Set<string>();
    w.logs.forEach((l, i) => {
      if (seen.has(l.origin))
        ctx.addIssue({
          code: 'custom',
          path: ['logs', i, 'origin'],
          message: `duplicate origin "${l.origin}"`,
        });
      seen.add(l.origin);
    });
    if (w.name === undefined && w.logs.length > 0)
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'required when logs are listed' });
  })
  .prefault({});

const audit = z
  .strictObject({
    merkle_hash: z.literal('sha256').default('sha256'),
    /**
     * How often `sigil serve` runs retention (docs/ledger.md §10): export of sealed ranges older than
     * `retention` to `archive_dir` as C2SP tlog-tiles, then pruning of their local bodies. Seconds.
     */
    compaction_interval: seconds().default(86400),
    /** How long entry bodies stay local (a duration: `30d`, `36h`, seconds). Absent: forever, no pruning. */
    retention: duration.optional(),
    /** The tlog-tiles archive directory. Default: <data_dir>/archive. */
    archive_dir: z.string().min(1).optional(),
    /**
     * `journal` (default): a decision is answered once written to the write-ahead journal (durable; LMDB
     * commits `commit_delay_ms` behind it). `sync`: once its LMDB commit is fsynced. `fast`: bounded loss window
     * (docs/ledger.md §3).
     */
    durability: z.enum(['sync', 'fast', 'journal']).default('journal'),
    /**
     * With `durability: journal`: how many ms LMDB trails the journal (a batch's first decision to its LMDB
     * commit). Longer = fewer LMDB commits and fsyncs per second, so less CPU per decision below saturation;
     * a decision's proof and the next checkpoint wait up to this long (docs/ledger.md §3 "Journal").
     */
    commit_delay_ms: int(0, 1000).default(100),
    /** Signed checkpoint interval in seconds (0 = only on demand). */
    checkpoint_interval: int(0, 86400).default(60),
    /** Checkpoint origin line (C2SP tlog-checkpoint). Default: <trust domain>/sigil/audit. */
    origin: z.string().min(1).optional(),
    /**
     * Tree hashing of long append runs on a worker thread: `auto` = on when the process can keep more than
     * one CPU busy (affinity mask capped by a cgroup CPU quota), `on`, `off`. docs/ledger.md §3.
     */
    hash_thread: z.enum(['auto', 'on', 'off']).default('auto'),
    /**
     * Disk guard (docs/ledger.md §4 "Disk guard"): below this much free space on the data dir's filesystem,
     * unauthenticated denies are only counted, so the rest is left to authenticated decisions. Bytes, `256MiB`,
     * `5%` of the filesystem. Default 256 MiB.
     */
    min_free_bytes: byteReserve.prefault('256MiB'),
    /** Unauthenticated denies: aggregated per (source address, code) and window (docs/ledger.md §4). */
    unauthenticated: z
      .strictObject({
        /** Aggregation window, ms: one ledger entry per source and code per window. */
        window_ms: int(10, 60_000).default(1000),
        /** Distinct (source, code) keys per window; further sources share the source `*`. */
        max_keys: int(1, 65_536).default(1024),
      })
      .prefault({}),
    /** Witnesses that cosign this sidecar's checkpoints (c2sp.org/tlog-witness; docs/witness.md). */
    witnesses: z.array(auditWitness).max(32).default([]),
    /** k of n: cosignatures a checkpoint needs; below it the `policy` alarm is raised. Default: a majority. */
    witness_policy: z.strictObject({ k: int(1, 32).optional() }).prefault({}),
  })
  .superRefine((a, ctx) => {
    const names = new Set<string>();
    a.witnesses.forEach((w, i) => {
      if (names.has(w.name))
        ctx.addIssue({
          code: 'custom',
          path: ['witnesses', i, 'name'],
          message: `duplicate witness "${w.name}"`,
        });
      names.add(w.name);
    });
    const k = a.witness_policy.k;
    if (k !== undefined && k > a.witnesses.length)
      ctx.addIssue({
        code: 'custom',
        path: ['witness_policy', 'k'],
        message: `${k} is more than the ${a.witnesses.length} configured witnesses`,
      });
  })
  .prefault({});

const route = z
  .strictObject({
    method: z.string().default('*'),
    path: z.string().min(1),
    tool: z.string().min(1),
  })
  .strict();

const proofMode = z.enum(['require', 'when_present', 'off']);
const proofOverride = z
  .strictObject({
    /** Tool-scope patterns (`shell.*`), validated like a token's tool_scope: a typo must not silently match nothing. */
    tools: z.array(z.string().refine(isScopePattern, 'must be a tool name, `name.*` or `*`')).optional(),
    /** Route path patterns (docs/authz.md §10), any method. */
    paths: z.array(z.string().min(1)).optional(),
    mode: proofMode,
  })
  .refine((o) => (o.tools?.length ?? 0) + (o.paths?.length ?? 0) > 0, {
    message: 'a proof override needs tools or paths',
  });

const authz = z
  .strictObject({
    /** ext_authz gRPC listener: host:port or unix:/path. */
    listen: hostPort.default('127.0.0.1:9191'),
    /**
     * The listener's gRPC stack (docs/authz.md §Transport): `h2c`, SIGIL's own HTTP/2 connection layer, or
     * `grpc-js` (@grpc/grpc-js on node:http2). `h2` (deprecated, a transport since removed) is still accepted so
     * existing files load: it runs grpc-js, and `sigil serve` warns once when it is set.
     */
    transport: z.enum(['h2c', 'grpc-js', 'h2']).default('h2c'),
    /**
     * A listener connection with no call open for this many seconds is closed with GOAWAY(NO_ERROR); Envoy
     * reconnects on its next Check. 0 = never. A connection that has not sent the HTTP/2 preface and SETTINGS
     * within 10 s is closed whatever this says (h2c transport).
     */
    idle_timeout_s: int(0, 86_400).default(300),
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
    /** Proof of possession (Workload-Proof-Token, docs/proof.md §7): require, when_present (verify if sent), off. */
    proof: proofMode.default('when_present'),
    /** Per-tool / per-path proof modes; the strictest matching override wins over `proof`. */
    proof_overrides: z.array(proofOverride).default([]),
    /** Oldest proof `iat` accepted, in seconds before now (docs/proof.md §5). */
    proof_window_s: int(1, 300).default(60),
    /** Replay cache bound (entries); a full cache denies AUTHZ_PROOF_CACHE_FULL (docs/proof.md §6). */
    proof_replay_cache_max: int(1000, 50_000_000).default(500_000),
    /**
     * Check worker processes (docs/authz.md §12, docs/sizing.md §6): 1 = transport, Check pipeline and ledger
     * sequencer in this one process; 2..64 = that many forked workers run the gRPC server and the pipeline,
     * this process stays the one ledger sequencer; `auto` = the CPUs this process may use (affinity mask and
     * cgroup quota).
     */
    workers: z.union([int(1, 64), z.literal('auto')]).default(1),
  })
  .prefault({});

const policy = z
  .strictObject({
    /** OPA bundle: file path or https URL. Absent = built-in policy (TBIT rules only). */
    bundle: z.string().optional(),
    ...transport,
    entrypoint: z.string().min(1).default('envoy/authz/allow'),
    poll_interval: seconds(3600).default(10),
    /** Policy evaluation budget; 250 ms is measured not to cut real evaluations on a busy 2-core host (docs/policy.md §7). */
    eval_timeout_ms: int(1, 10_000).default(250),
    /** `inline`: evaluate on the event loop, budget measured. `worker`: worker thread terminated at the budget (docs/policy.md §7). */
    isolation: z.enum(['inline', 'worker']).default('inline'),
  })
  .superRefine((p, ctx) => {
    if (p.bundle !== undefined) checkSource(ctx, 'bundle', p.bundle, p);
    else if (p.ca_file !== undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'needs sigil.policy.bundle (an https:// URL)',
        path: ['ca_file'],
      });
  })
  .prefault({});

const admin = z
  .strictObject({
    listen: hostPort.default('127.0.0.1:9190'),
    /** Admin credential for the dashboard API. Absent = a random one is generated into <data_dir>/admin-token (0600). */
    token: z.string().min(16, 'must be at least 16 characters').optional(),
    /**
     * Extra origins the dashboard may fetch from (its CSP `connect-src`): the mesh collector the Mesh view points
     * at (docs/witness.md §6). Exact `http(s)://host[:port]` origins only.
     */
    connect_src: z
      .array(
        z
          .string()
          .regex(
            /^https?:\/\/[A-Za-z0-9.\-[\]:]+$/,
            'must be an http(s) origin (scheme://host[:port], no path)',
          ),
      )
      .max(16)
      .default([]),
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
     * old generation may grow to (1 + p/100) × its live size before the next one. Each full collection's pause
     * grows with the Checks served since the last one (node:http2's received header values are external strings
     * V8 finalizes in the pause, 0.3–1 µs per Check), so 50 (default) bounds it to ~20–50 ms every ~20–40 s at
     * 1000 Checks/s; 200 gave one of 60–120 ms about every 100 s (docs/sizing.md §4). 0 = V8's own heuristic.
     * Process-wide, so `sigil serve` applies it, not the library.
     */
    gc_heap_growing_percent: int(0, 1000).default(50),
    /**
     * V8's allocation-site pretenuring (`--allocation-site-pretenuring`): when most objects of one allocation
     * site outlive a scavenge, V8 allocates the later ones straight in the old generation. false (default)
     * turns it off: on Node 24 a Check's short-lived objects are often kept past a scavenge by a dead
     * old-generation object, so V8 pretenures them, and each pretenured one then keeps the young objects it
     * points to alive until the next full collection (docs/sizing.md §4). Process-wide: `sigil serve`
     * applies it, like `gc_heap_growing_percent`.
     */
    gc_pretenuring: z.boolean().default(false),
    /**
     * Node's shared pool for small Buffers (`Buffer.poolSize`, 8 KiB slabs). false (default) gives every
     * Buffer its own memory: one slab is shared by the small buffers of several Checks, and a single one of
     * them kept past two scavenges moves the whole slab to the old generation, where it counts as external
     * memory until the next full collection; at 1000 Checks/s that was ~2 MB/s of external memory, enough to
     * start a full collection every ~30 s by itself (docs/sizing.md §4). Process-wide, applied by `sigil serve`.
     */
    buffer_pool: z.boolean().default(false),
    /**
     * V8's collector threads. `single` (`--single-threaded-gc`): the main thread does all of the collector's work,
     * in small incremental steps between Checks. `parallel`: V8's default, with helper threads for concurrent
     * marking and sweeping and parallel scavenges. `auto` (default): `single` when the process can keep only one
     * CPU busy (affinity mask capped by a cgroup CPU quota, as `audit.hash_thread`), else `parallel`. On one CPU
     * the helpers do not run beside the main thread but preempt it, for whole scheduler slices, in the middle of
     * Checks: at 1000 Checks/s on one pinned CPU `single` gave a p99.9 of 14–57 ms against 38–121 ms, for 2–5 %
     * more CPU per request and 0.1–2 ms more p99 at 250–500 Checks/s (docs/sizing.md §4). Start-up only,
     * like `semi_space_mb`.
     */
    gc_threads: z.enum(['auto', 'single', 'parallel']).default('auto'),
    /**
     * Largest V8 semi-space, MiB (`--max-semi-space-size`; the young generation is two of them). Node 24's V8
     * grows it to 64 MiB under load (a 128 MiB young generation, most of the resident memory); 16 keeps it
     * where Node 20 had it. 0 = V8's own sizing. Read only at process start: `sigil serve` re-executes itself
     * with the flag (docs/sizing.md).
     */
    semi_space_mb: int(0, 256).default(16),
    /**
     * Ceiling of V8's old generation, MiB (`--max-old-space-size`); 0 = V8's default, which follows the
     * memory limit of the container. Size it below the pod's memory limit (docs/sizing.md). Start-up only,
     * like `semi_space_mb`.
     */
    max_old_space_mb: int(0, 65536)
      .refine((v) => v === 0 || v >= 64, 'must be 0 (V8 default) or at least 64')
      .default(0),
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
      witness,
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
