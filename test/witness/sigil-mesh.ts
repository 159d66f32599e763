/**
 * Three real `sigil serve` sidecars (startSigil, in process) on loopback witnessing each other 2-of-3 through
 * their admin servers' tlog-witness endpoints: the harness of test/witness/serve-mesh.test.ts and of the
 * dashboard's witness browser test.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig, type SigilConfig } from '../../src/config/index.js';
import { noteSigner } from '../../src/ledger/index.js';
import { ed25519FromSeed } from '../../src/lib/ed25519-key.js';
import { type RunningSigil, startSigil } from '../../src/serve/index.js';
import { cosigner, verifyCosigned } from '../../src/witness/index.js';
import { freePorts } from '../support/ports.js';

/** Admin token of every mesh sidecar. */
export const MESH_ADMIN = 'witness-mesh-admin-token-0123456789';
/** Sidecar names. */
export const MESH_NAMES = ['a', 'b', 'c'] as const;
/** A logger that says nothing. */
export const silent = pino({ level: 'silent' });

/** One sidecar of the mesh. */
export interface MeshNode {
  name: string;
  dir: string;
  /** Seed of its witness key (Go's verifier rebuilds the key from it). */
  seed: Buffer;
  witnessName: string;
  witnessKey: string;
  origin: string;
  logKey: string;
  config: SigilConfig;
  sigil?: RunningSigil;
}

/** The running mesh. */
export interface SigilMesh {
  root: string;
  nodes: MeshNode[];
  close(): Promise<void>;
}

/** Writes a private Ed25519 JWK from `seed` at `file` (the key files sigil creates on first use). */
function writeKey(file: string, seed: Buffer): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify(ed25519FromSeed(seed).privateKey.export({ format: 'jwk' })), {
    mode: 0o600,
  });
}

/**
 * Starts the three sidecars; `admin` adds to each one's `sigil.admin` section (e.g. `connect_src`),
 * `dashboardDir` is the dashboard build they serve.
 */
export async function startSigilMesh(
  admin: Record<string, unknown> = {},
  dashboardDir?: string,
): Promise<SigilMesh> {
  const root = mkdtempSync(join(tmpdir(), 'sigil-witness-serve-'));
  const ports = await freePorts(9);
  const nodes: MeshNode[] = [];
  for (const [i, name] of MESH_NAMES.entries()) {
    const dir = join(root, name);
    const seed = Buffer.alloc(32, i + 1);
    const logSeed = Buffer.alloc(32, i + 101);
    const origin = `${name}.mesh/sigil/audit`;
    writeKey(join(dir, 'ledger', 'keys', 'checkpoint.jwk'), logSeed);
    writeKey(join(dir, 'witness', 'cosigner.jwk'), seed);
    const witnessName = `${name}.mesh/witness`;
    nodes.push({
      name,
      dir,
      seed,
      witnessName,
      witnessKey: cosigner(witnessName, ed25519FromSeed(seed).privateKey).vkey,
      origin,
      logKey: noteSigner(origin, ed25519FromSeed(logSeed).privateKey).verifierKey,
      config: undefined as unknown as SigilConfig,
    });
  }
  for (const [i, n] of nodes.entries()) {
    n.config = loadConfig({
      env: {},
      overrides: {
        data_dir: n.dir,
        authz: { listen: `unix:${join(n.dir, 'authz.sock')}` },
        admin: { listen: `127.0.0.1:${ports[3 * i]}`, token: MESH_ADMIN, ...admin },
        issuer: {
          listen_http: `127.0.0.1:${ports[3 * i + 1]}`,
          listen_grpc: `127.0.0.1:${ports[3 * i + 2]}`,
        },
        audit: {
          origin: n.origin,
          durability: 'fast',
          checkpoint_interval: 1,
          witnesses: nodes.map((w, j) => ({
            name: w.witnessName,
            url: `http://127.0.0.1:${ports[3 * j]}/witness`,
            key: w.witnessKey,
          })),
          witness_policy: { k: 2 },
        },
        witness: { name: n.witnessName, logs: nodes.map((w) => ({ origin: w.origin, key: w.logKey })) },
      },
    });
  }
  for (const n of nodes)
    n.sigil = await startSigil(n.config, { logger: silent, ...(dashboardDir ? { dashboardDir } : {}) });
  return {
    root,
    nodes,
    async close() {
      for (const n of nodes) await n.sigil?.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Waits until `n` serves a cosigned checkpoint of size ≥ `size` with ≥ `count` verified cosignatures. */
export async function waitCosigned(
  n: MeshNode,
  nodes: readonly MeshNode[],
  size: number,
  count: number,
): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const c = n.sigil ? await fetch(`${n.sigil.admin.url}/witness/cosigned`) : undefined;
    if (c?.status === 200) {
      const note = await c.text();
      const v = verifyCosigned(note, { logKey: n.logKey, witnesses: nodes.map((x) => x.witnessKey) });
      if (v.checkpoint.size >= size && v.cosigners.length >= count) return note;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${n.name}: no checkpoint of size ≥ ${size} with ${count} cosignatures`);
}
