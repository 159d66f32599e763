/**
 * `sigil serve` as a child process (tsx, no build needed) on free ports with a temp data dir, plus helpers
 * to run other CLI commands against the same data dir and to mint tokens with its issuer keys.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig, type SigilConfig } from '../../src/config/index.js';
import { openIssuerStores } from '../../src/issuer/open-stores.js';
import { IssuerService, LOCAL_OPERATOR } from '../../src/issuer/service.js';
import { issuerOptions } from '../../src/serve/index.js';
import { freePorts } from './ports.js';
import { type CliRun, CLI_MAIN as MAIN, runCli } from './sigil-cli.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** A running `sigil serve` child. */
export interface SigilProcess {
  dataDir: string;
  configFile: string;
  config: SigilConfig;
  authzPort: number;
  adminUrl: string;
  child: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  /** Sends `signal` and waits for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stops (if running) and deletes the data dir. */
  dispose(): Promise<void>;
}

/** Starts `sigil serve`. `sigil` is merged into the generated config (authz routes etc.). */
export async function startSigilProcess(
  sigil: Record<string, unknown> = {},
  opts: { cpus?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<SigilProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-e2e-'));
  const [authz, admin, http, grpc] = await freePorts(4);
  const doc = {
    sigil: {
      data_dir: dataDir,
      log: { level: 'info' },
      ...sigil,
      authz: { listen: `127.0.0.1:${authz}`, ...(sigil.authz as object) },
      admin: { listen: `127.0.0.1:${admin}`, ...(sigil.admin as object) },
      issuer: {
        listen_http: `127.0.0.1:${http}`,
        listen_grpc: `127.0.0.1:${grpc}`,
        ...(sigil.issuer as object),
      },
    },
  };
  const configFile = join(dataDir, 'sigil.yaml');
  writeFileSync(configFile, stringify(doc));
  const config = loadConfig({ file: configFile, env: {} });
  const args = ['--import', 'tsx', MAIN, '--config', configFile, 'serve', '--drain-ms', '2000'];
  // `cpus`: run pinned to these CPUs (taskset -c), as a sidecar limited to a cpuset would.
  const child = spawn(
    opts.cpus ? 'taskset' : process.execPath,
    opts.cpus ? ['-c', opts.cpus, process.execPath, ...args] : args,
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SIGIL_DATA: '', SIGIL_CONFIG: '', ...opts.env },
    },
  );
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`sigil serve not ready in 30 s:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('"msg":"sigil ready"')) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sigil serve exited with ${code}:\n${out}`));
    });
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(t);
    return code;
  };
  return {
    dataDir,
    configFile,
    config,
    authzPort: authz!,
    adminUrl: `http://127.0.0.1:${admin}`,
    child,
    output: () => out,
    stop,
    async dispose() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `sigil <args>` against `configFile`; resolves with exit code and output. */
export const runSigilCli = (configFile: string, args: string[]): Promise<CliRun> =>
  runCli(['--config', configFile, ...args]);

/** The issuer service over the running sidecar's data dir (same keys), for minting and delegating in tests. */
export async function issuerFor(config: SigilConfig): Promise<{
  service: IssuerService;
  stores: Awaited<ReturnType<typeof openIssuerStores>>;
  close(): void;
  operator: typeof LOCAL_OPERATOR;
}> {
  const options = issuerOptions(config);
  const stores = await openIssuerStores(options, { watch: false });
  return {
    service: new IssuerService({ options, ...stores }),
    stores,
    close: () => stores.close(),
    operator: LOCAL_OPERATOR,
  };
}
