/**
 * The processes of one configuration: the upstream, an authorizer (none, SIGIL or OPA) and Envoy
 * rendered from envoy/bench/envoy.yaml. Each is pinned with taskset according to the CPU plan.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pluginArgs, pluginBinary, waitPluginReady } from '../../lib/opa-envoy-plugin.js';
import { freePort, type Proc, startProcess, until } from './proc.js';

/** Which CPUs each role runs on (taskset lists), and why, for the report. */
export interface CpuPlan {
  authorizer?: string | undefined;
  envoy?: string | undefined;
  upstream?: string | undefined;
  loadgen?: string | undefined;
  describe: string;
}

/**
 * `split` (default): the authorizer alone on CPU 1; Envoy (1 worker thread), the upstream and vegeta
 * share CPU 0. Both authorizers get the same single core, and the rest of the rig cannot steal
 * from it. `none`: no pinning (the scheduler spreads everything over both cores).
 */
export function cpuPlan(kind: 'split' | 'none'): CpuPlan {
  if (kind === 'none')
    return { describe: 'no pinning: all processes float over both cores; Envoy --concurrency 1' };
  return {
    authorizer: '1',
    envoy: '0',
    upstream: '0',
    loadgen: '0',
    describe:
      'taskset: authorizer (SIGIL / OPA, all its threads) alone on CPU 1; Envoy (--concurrency 1), upstream and vegeta share CPU 0',
  };
}

/** Repository paths the stack needs. */
export interface Paths {
  root: string;
  tools: string;
  envoy: string;
  vegeta: string;
  /** The real opa-envoy-plugin binary (scripts/setup-tools.sh). */
  opaEnvoyPlugin: string;
  upstream: string;
}

/** Resolves tool paths under the repository root. */
export function paths(root: string): Paths {
  const tools = join(root, '.tools', 'bin');
  return {
    root,
    tools,
    envoy: join(tools, 'envoy'),
    vegeta: join(tools, 'vegeta'),
    opaEnvoyPlugin: pluginBinary(root),
    upstream: join(tools, 'bench-upstream'),
  };
}

/** Starts the Go upstream; resolves with its port. */
export async function startUpstream(
  p: Paths,
  dir: string,
  cpus?: string,
): Promise<{ proc: Proc; port: number }> {
  const proc = startProcess({
    name: 'upstream',
    cmd: p.upstream,
    args: ['-addr', '127.0.0.1:0'],
    cpus,
    logFile: join(dir, 'upstream.log'),
  });
  const m = await proc.waitFor(/listening 127\.0\.0\.1:(\d+)/);
  return { proc, port: Number(m[1]) };
}

/** A running Envoy with its listener and admin ports. */
export interface EnvoyHandle {
  proc: Proc;
  port: number;
  adminUrl: string;
  /** Envoy's counters whose name contains `filter` (e.g. `ext_authz`). */
  stats(filter: string): Promise<Record<string, number>>;
}

/** Renders envoy/bench/envoy.yaml with or without the shared ext_authz filter and starts Envoy. */
export async function startEnvoy(
  p: Paths,
  dir: string,
  opts: {
    upstreamPort: number;
    authzPort?: number | undefined;
    cpus?: string | undefined;
    /** HTTP/2 streams per connection to the authorizer before Envoy opens another; default Envoy's (no cap). */
    authzStreams?: number | undefined;
  },
): Promise<EnvoyHandle> {
  const port = await freePort();
  const base = readFileSync(join(p.root, 'envoy', 'bench', 'envoy.yaml'), 'utf8');
  const filter = opts.authzPort
    ? readFileSync(join(p.root, 'envoy', 'bench', 'ext-authz.yaml'), 'utf8').trimEnd()
    : '';
  const yaml = base
    .replace(/^\{\{EXT_AUTHZ\}\}$/m, filter)
    .replace('{{LISTEN_PORT}}', String(port))
    .replace('{{UPSTREAM_PORT}}', String(opts.upstreamPort))
    // Envoy needs a valid port even when no filter uses the cluster.
    .replace('{{AUTHZ_PORT}}', String(opts.authzPort ?? 9))
    .replace(
      '{{AUTHZ_STREAMS}}',
      opts.authzStreams ? `{ max_concurrent_streams: ${opts.authzStreams} }` : '{}',
    );
  mkdirSync(dir, { recursive: true });
  const cfg = join(dir, 'envoy.yaml');
  writeFileSync(cfg, yaml);
  const adminFile = join(dir, 'envoy-admin.txt');
  const proc = startProcess({
    name: 'envoy',
    cmd: p.envoy,
    args: [
      '-c',
      cfg,
      '--concurrency',
      '1',
      '--disable-hot-restart',
      '--log-level',
      'warn',
      '--admin-address-path',
      adminFile,
    ],
    cpus: opts.cpus,
    logFile: join(dir, 'envoy.log'),
  });
  let adminUrl = '';
  await until('envoy admin', async () => {
    if (proc.exited()) throw new Error(`envoy exited: ${proc.output().slice(-2000)}`);
    try {
      const a = readFileSync(adminFile, 'utf8').trim();
      if (!a) return false;
      adminUrl = `http://${a}`;
      const r = await fetch(`${adminUrl}/ready`);
      return r.ok;
    } catch {
      return false;
    }
  });
  return {
    proc,
    port,
    adminUrl,
    async stats(f) {
      const r = await fetch(`${adminUrl}/stats?format=json&filter=${encodeURIComponent(f)}`);
      const j = (await r.json()) as { stats: Array<{ name?: string; value?: number }> };
      const out: Record<string, number> = {};
      for (const s of j.stats) if (s.name !== undefined && typeof s.value === 'number') out[s.name] = s.value;
      return out;
    },
  };
}

/** Starts the real opa-envoy-plugin (envoy/bench/opa) trusting `data`; resolves with its gRPC port. */
export async function startOpa(
  p: Paths,
  dir: string,
  data: { jwks: unknown; issuer: string; audience: string },
  cpus?: string,
): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const restPort = await freePort();
  mkdirSync(dir, { recursive: true });
  const cfg = readFileSync(join(p.root, 'envoy', 'bench', 'opa', 'config.yaml'), 'utf8').replace(
    '{{AUTHZ_PORT}}',
    String(port),
  );
  writeFileSync(join(dir, 'opa-config.yaml'), cfg);
  // decode_verify takes the JWKS as a JSON string (its `cert` constraint).
  writeFileSync(
    join(dir, 'data.json'),
    JSON.stringify({
      sigil: { jwks: JSON.stringify(data.jwks), issuer: data.issuer, audience: data.audience },
    }),
  );
  const proc = startProcess({
    name: 'opa',
    cmd: p.opaEnvoyPlugin,
    args: pluginArgs({
      restPort,
      configFile: join(dir, 'opa-config.yaml'),
      files: [join(p.root, 'envoy', 'bench', 'opa', 'policy.rego'), join(dir, 'data.json')],
    }),
    cpus,
    logFile: join(dir, 'opa.log'),
  });
  await waitPluginReady(restPort, 30_000, () => !proc.exited());
  return { proc, port };
}

/** Starts the transport floor (bench/e2e/floor-server.ts). */
export async function startFloor(
  p: Paths,
  dir: string,
  cpus?: string,
): Promise<{ proc: Proc; port: number }> {
  // The compiled tree has no bench/: this small script runs through tsx and loads the compiled
  // src/authz/server.js when the run measures compiled SIGIL.
  const cli = process.env.SIGIL_BENCH_CLI;
  const proc = startProcess({
    name: 'floor',
    env: {
      ...process.env,
      SIGIL_FLOOR_SERVER: cli ? join(cli, '..', '..', 'authz', 'server.js') : '',
    },
    cmd: process.execPath,
    // Extra node flags for the floor alone, e.g. SIGIL_BENCH_FLOOR_NODE_ARGS="--trace-gc-nvp" to compare its
    // collections with SIGIL's (SIGIL_BENCH_NODE_ARGS, bench/e2e/lib/sigil.ts).
    args: [
      ...(process.env.SIGIL_BENCH_FLOOR_NODE_ARGS ?? '').split(' ').filter(Boolean),
      '--import',
      'tsx',
      join(p.root, 'bench', 'e2e', 'floor-server.ts'),
    ],
    cpus,
    cwd: p.root,
    logFile: join(dir, 'floor.log'),
  });
  const m = await proc.waitFor(/floor listening 127\.0\.0\.1:(\d+)/, 60_000);
  return { proc, port: Number(m[1]) };
}
