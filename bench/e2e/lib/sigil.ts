/**
 * SIGIL in the benchmark: a fresh data dir per configuration run (issuer keys copied from the run's
 * shared issuer dir, so SIGIL and OPA trust the very same JWKS), `sigil serve` with a bench config,
 * tokens minted with SIGIL's own token module, and the ledger size read from disk (LMDB) before
 * the start and after the stop, so the growth check counts only durable entries.
 */
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig, type SigilConfig } from '../../../src/config/index.js';
import { type KeyStores, openKeyStores } from '../../../src/issuer/index.js';
import { generateEd25519 } from '../../../src/lib/ed25519-key.js';
import { issuerOptions } from '../../../src/serve/issuer-options.js';
import { openAuditLog } from '../../../src/serve/open-audit-log.js';
import { delegate, mintRoot, publicJwkOf } from '../../../src/token/index.js';
import { freePort, type Proc, startProcess, until } from './proc.js';
import type { Paths } from './stack.js';
import { BENCH_SCOPE, BENCH_TOOLS, forge, OUT_OF_SCOPE_TOOL, type TokenSet } from './tokens.js';

/** The sidecar's own SPIFFE ID: every leaf token's `aud`. */
export const BENCH_AUDIENCE = 'spiffe://sigil.mesh/agent/bench/sidecar';
/** Lifetime of the bench's tokens: sigil.issuer.max_ttl's ceiling. They are minted per configuration run. */
export const TOKEN_TTL_S = 300;

/** A running SIGIL for one configuration run. */
export interface SigilFixture {
  proc: Proc;
  /** ext_authz gRPC port. */
  port: number;
  config: SigilConfig;
  tokens: TokenSet;
  /** When the process was spawned (epoch ms): a CPU profile's clock starts about then. */
  startedAt: number;
  /**
   * Decisions recorded on disk: one per decision entry, `count` per entry that aggregates unauthenticated
   * denies (docs/ledger.md §4 "Entry kinds"); lifecycle entries (sidecar start/stop, trust and policy
   * changes) are not decisions. Only while SIGIL is stopped (before start / after stop): a writable open,
   * it cannot take the writer lock while `sigil serve` runs.
   */
  ledgerDecisions(): Promise<number>;
  /** {@link ledgerDecisions} before the process started. */
  decisionsAtStart: number;
}

/** The run-wide issuer data dir (created once): its keys are what SIGIL and OPA both trust. */
function issuerDir(outDir: string): string {
  const d = join(outDir, 'issuer-keys');
  if (!existsSync(join(d, 'keys'))) {
    mkdirSync(d, { recursive: true });
    // Opening the store creates the first signing key.
    issuerStore(d).issuer.signer();
  }
  return d;
}

function issuerStore(dataDir: string): KeyStores {
  return openKeyStores({ dataDir, rotationInterval: 86_400, maxTtl: TOKEN_TTL_S, clockSkew: 5 });
}

/** What sets one SIGIL configuration apart: its ledger durability, Check workers and collector threads. */
export interface SigilRun {
  durability: 'sync' | 'fast' | 'journal';
  /** `sigil.authz.workers` (default 1). */
  workers?: number;
  /** `sigil.runtime.gc_threads` (default: the serve default, `auto`). */
  gcThreads?: 'single' | 'parallel';
}

function benchConfig(
  dataDir: string,
  ports: { authz: number; http: number; grpc: number; admin: number },
  run: SigilRun,
) {
  const workers = run.workers ?? 1;
  return {
    sigil: {
      data_dir: dataDir,
      agent: { spiffe_id: BENCH_AUDIENCE },
      issuer: {
        listen_http: `127.0.0.1:${ports.http}`,
        listen_grpc: `127.0.0.1:${ports.grpc}`,
        key_rotation_interval: 86_400,
      },
      audit: { durability: run.durability },
      authz: {
        listen: `127.0.0.1:${ports.authz}`,
        // The tool is the path segment after /tools/, exactly as the OPA policy reads it.
        routes: [{ method: 'GET', path: '/tools/{name}', tool: '{name}' }],
        // Check workers (sigil-w2); everything else as in the single-process configurations.
        ...(workers > 1 ? { workers } : {}),
      },
      admin: { listen: `127.0.0.1:${ports.admin}`, token: 'bench-admin-token-0123456789' },
      log: { level: 'warn' },
      ...(run.gcThreads ? { runtime: { gc_threads: run.gcThreads } } : {}),
    },
  };
}

/**
 * Mints the run's tokens with SIGIL's token module: a root token for `sub` A (depth 1), and a chain
 * A → B → C (depth 3, each hop narrowing the scope but keeping the benchmark tools).
 */
export function mintTokens(dataDir: string): TokenSet {
  const store = issuerStore(dataDir);
  const signer = store.issuer.signer();
  const iss = issuerOptions(loadConfig({ overrides: { data_dir: dataDir } })).issuerId;
  const a = generateEd25519();
  const b = generateEd25519();
  const base = {
    issuerKey: signer.privateKey,
    kid: signer.kid,
    iss,
    aud: BENCH_AUDIENCE,
    taskId: 'bench-task',
    toolScope: BENCH_SCOPE,
    ttl: TOKEN_TTL_S,
  };
  const depth1 = mintRoot({ ...base, sub: 'spiffe://sigil.mesh/agent/bench/caller' });
  const root = mintRoot({
    ...base,
    sub: 'spiffe://sigil.mesh/agent/bench/a',
    holderKey: publicJwkOf(a.privateKey),
  });
  const hop2 = delegate({
    parentToken: root,
    holderPrivateKey: a.privateKey,
    sub: 'spiffe://sigil.mesh/agent/bench/b',
    toolScope: ['fs.read', 'web.*'],
    holderKey: publicJwkOf(b.privateKey),
  });
  const depth3 = delegate({
    parentToken: hop2,
    holderPrivateKey: b.privateKey,
    sub: 'spiffe://sigil.mesh/agent/bench/c',
    toolScope: ['fs.read', 'web.search'],
  });
  return {
    issuer: iss,
    audience: BENCH_AUDIENCE,
    jwks: store.issuer.jwks(),
    depth1,
    depth3,
    forged: forge(depth1),
    inScope: BENCH_TOOLS,
    outOfScope: OUT_OF_SCOPE_TOOL,
  };
}

/** Tokens and JWKS from the run's SIGIL issuer, for (a) and (c). */
export function sigilIssuerTokens(_p: Paths, runDir: string): TokenSet {
  return mintTokens(issuerDir(join(runDir, '..')));
}

/** How `sigil serve` is launched: from source through tsx (default) or a compiled CLI. */
export function sigilCommand(p: Paths, nodeArgs: string[] = []): { cmd: string; args: string[] } {
  // Extra node flags, e.g. SIGIL_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile under load.
  const extra = [...(process.env.SIGIL_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), ...nodeArgs];
  const built = process.env.SIGIL_BENCH_CLI;
  // SIGIL_BENCH_NODE: another Node binary for SIGIL (bench/e2e.ts --node).
  const node = process.env.SIGIL_BENCH_NODE ?? process.execPath;
  if (built) return { cmd: node, args: [...extra, built] };
  return {
    cmd: node,
    args: [...extra, '--import', 'tsx', join(p.root, 'src', 'cli', 'main.ts')],
  };
}

/** Starts `sigil serve` for one configuration run. */
export async function startSigil(
  p: Paths,
  runDir: string,
  o: SigilRun & {
    cpus?: string | undefined;
    nodeArgs?: string[];
  },
): Promise<SigilFixture> {
  const dataDir = join(runDir, 'sigil-data');
  mkdirSync(dataDir, { recursive: true });
  const shared = issuerDir(join(runDir, '..'));
  cpSync(join(shared, 'keys'), join(dataDir, 'keys'), { recursive: true });
  const tokens = mintTokens(dataDir);
  const { cmd, args } = sigilCommand(p, o.nodeArgs);
  // Ports come from the OS's ephemeral range (freePort), where a client's outgoing connection (Envoy, vegeta)
  // can take one between the pick and SIGIL's bind: then SIGIL exits CONFIG_LISTEN_FAILED and it is started
  // again on fresh ports (one lost round of a 40-minute run, before).
  for (let attempt = 1; ; attempt++) {
    const ports = {
      authz: await freePort(),
      http: await freePort(),
      grpc: await freePort(),
      admin: await freePort(),
    };
    const raw = benchConfig(dataDir, ports, o);
    const cfgFile = join(runDir, 'sigil.yaml');
    writeFileSync(cfgFile, stringify(raw));
    const config = loadConfig({ file: cfgFile, env: {} });
    const ledgerDecisions = async () => {
      const log = await openAuditLog(config, { checkpointIntervalSec: 0 });
      try {
        let decisions = 0;
        for (let i = 0; i < log.size; i++) {
          const r = log.record(i) as { kind?: string; count?: number };
          if (r.kind === undefined) decisions += 1;
          else if (r.kind === 'aggregate' || r.kind === 'dropped') decisions += r.count ?? 0;
        }
        return decisions;
      } finally {
        await log.close();
      }
    };
    // Creates the ledger (and fails early on a bad config) before the process starts: the count the run
    // compares with. No writable open may happen while `sigil serve` holds the ledger (it takes the writer lock).
    const decisionsAtStart = await ledgerDecisions();
    const startedAt = Date.now();
    const proc = startProcess({
      name: 'sigil',
      cmd,
      args: [...args, '--config', cfgFile, 'serve'],
      cpus: o.cpus,
      cwd: p.root,
      logFile: join(runDir, 'sigil.log'),
    });
    try {
      await until(
        'sigil ext_authz port',
        async () => {
          if (proc.exited()) throw new Error(`sigil exited: ${proc.output().slice(-3000)}`);
          return tcpOpen(ports.authz);
        },
        60_000,
      );
    } catch (e) {
      if (attempt < 3 && proc.exited() && proc.output().includes('CONFIG_LISTEN_FAILED')) continue;
      throw e;
    }
    // The port opens with the first Check worker; ready means every worker listens.
    await until(
      'sigil ready',
      () =>
        fetch(`http://127.0.0.1:${ports.admin}/ready`).then(
          (r) => r.ok,
          () => false,
        ),
      60_000,
    );
    return { proc, port: ports.authz, config, tokens, ledgerDecisions, decisionsAtStart, startedAt };
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
