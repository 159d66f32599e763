/**
 * Runs a real Envoy with one of the `envoy/` configs, its `# @NAME` tagged ports rewritten (sidecar.yaml).
 * Used by `sigil demo` and the end-to-end tests (test/support/envoy.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (holds envoy/ and .tools/): two levels above src/demo, three above dist/src/demo. */
const ROOT = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../../' : '../../../', import.meta.url),
);

/** The Envoy binary: $SIGIL_ENVOY, else .tools/bin/envoy (scripts/setup-tools.sh), else `envoy` on PATH. */
export function envoyBinary(): string {
  if (process.env.SIGIL_ENVOY) return process.env.SIGIL_ENVOY;
  const local = join(ROOT, '.tools', 'bin', 'envoy');
  return existsSync(local) ? local : 'envoy';
}

/** Ports substituted into the template (tags `# @LISTEN_PORT` etc.). */
export interface EnvoyPorts {
  listen: number;
  admin: number;
  authz: number;
  upstream: number;
}

/**
 * Renders `envoy/<name>` with the given ports and files (`{ SERVER_CERT: path }` for `filename: … # @SERVER_CERT`).
 * Throws when a tag is missing (template drift).
 */
function renderEnvoyConfig(
  ports: EnvoyPorts,
  name = 'sidecar.yaml',
  files: Record<string, string> = {},
): string {
  let out = readFileSync(join(ROOT, 'envoy', name), 'utf8');
  const values: Array<[string, string, string | number]> = [
    ['port_value', 'LISTEN_PORT', ports.listen],
    ['port_value', 'ADMIN_PORT', ports.admin],
    ['port_value', 'AUTHZ_PORT', ports.authz],
    ['port_value', 'UPSTREAM_PORT', ports.upstream],
    ...Object.entries(files).map(([tag, path]): [string, string, string] => ['filename', tag, path]),
  ];
  for (const [key, tag, value] of values) {
    const re = new RegExp(`${key}: [^ }]+( }?) # @${tag}\\b`, 'g');
    if (!re.test(out)) throw new Error(`envoy/${name}: tag @${tag} not found`);
    out = out.replace(re, `${key}: ${value}$1 # @${tag}`);
  }
  return out;
}

/** A running Envoy. */
export interface EnvoyProcess {
  /** `http://127.0.0.1:<listen>` */
  url: string;
  ports: EnvoyPorts;
  child: ChildProcess;
  /** Envoy's stderr so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** How long Envoy may take to report LIVE, ms. */
const READY_TIMEOUT_MS = 20_000;

/** Starts Envoy on `ports` and resolves once its admin /ready says LIVE (or rejects after 20 s). */
export async function startEnvoy(
  ports: EnvoyPorts,
  opts: { config?: string; files?: Record<string, string> } = {},
): Promise<EnvoyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-envoy-'));
  const file = join(dir, 'envoy.yaml');
  const logFile = join(dir, 'envoy.log');
  writeFileSync(file, renderEnvoyConfig(ports, opts.config, opts.files));
  const args = ['-c', file, '--log-path', logFile, '--log-level', 'warn'];
  const child = spawn(envoyBinary(), [...args, '--disable-hot-restart', '--concurrency', '1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += d.toString();
  });
  const log = () => stderr + (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await once(child, 'exit');
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      const text = log();
      await stop();
      throw new Error(`envoy exited with ${child.exitCode}: ${text.slice(-2000)}`);
    }
    try {
      const r = await fetch(`http://127.0.0.1:${ports.admin}/ready`);
      if (r.ok && (await r.text()).trim() === 'LIVE') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`envoy not ready after ${READY_TIMEOUT_MS} ms: ${log().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `http://127.0.0.1:${ports.listen}`, ports, child, log, stop };
}
