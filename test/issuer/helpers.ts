/** Shared fixtures for issuer and CLI tests: temp data dirs, configs on ephemeral ports, code capture. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type SigilConfig } from '../../src/config/index.js';
import type { IssuerOptions } from '../../src/issuer/index.js';
import { SigilError } from '../../src/lib/errors.js';
import { issuerOptions } from '../../src/serve/index.js';

/** 2026-01-01T00:00:00Z in ms: the frozen "now" of the time tests. */
export const T0_MS = 1_767_225_600_000;
export const OPERATOR = 'operator-credential-for-tests-0123456789';
export const AGENT = 'spiffe://sigil.mesh/agent/local/dev';
export const WORKER = 'spiffe://sigil.mesh/agent/worker/1';
export const ISSUER_ID = 'spiffe://sigil.mesh/sigil/issuer';

const dirs: string[] = [];

/** A fresh temp data dir, removed by {@link cleanupDirs}. */
export function tempDir(prefix = 'sigil-issuer-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Removes every temp dir made by {@link tempDir}. */
export function cleanupDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A validated config on a temp data dir with ephemeral issuer ports; `sigil` overrides merged in. */
export function testConfig(dataDir: string, over: Record<string, unknown> = {}): SigilConfig {
  const issuer = (over.issuer ?? {}) as Record<string, unknown>;
  return loadConfig({
    env: {},
    overrides: {
      ...over,
      data_dir: dataDir,
      issuer: { listen_http: '127.0.0.1:0', listen_grpc: '127.0.0.1:0', ...issuer },
    },
  });
}

/** The issuer options `sigil serve` would derive from {@link testConfig}. */
export function testOptions(dataDir: string, over: Record<string, unknown> = {}): IssuerOptions {
  return issuerOptions(testConfig(dataDir, over));
}

/** Runs `f` and returns the stable code of the SigilError it throws; fails on success or another error type. */
export function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof SigilError) return e.code;
    throw new Error(`expected a SigilError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a SigilError, but the call succeeded');
}
