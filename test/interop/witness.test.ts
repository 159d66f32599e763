/**
 * Witness interop (docs/witness.md §Interop) with independent Go implementations built by
 * scripts/setup-tools.sh from test/interop/witness-go: SIGIL's checkpoints are cosigned by litewitness
 * (filippo.io/torchwood v0.6.1, a real c2sp.org/tlog-witness), and SIGIL as a witness cosigns the
 * checkpoints of a Go log (golang.org/x/mod/sumdb/tlog + note) whose cosignatures torchwood's
 * cosignature/v1 verifier accepts.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MerkleLog } from '../../src/ledger/index.js';
import { ed25519FromSeed } from '../../src/lib/ed25519-key.js';
import { closeHttp, listenHttp } from '../../src/lib/listen.js';
import {
  cosigner,
  verifyCosigned,
  WitnessClient,
  WitnessService,
  witnessHandler,
} from '../../src/witness/index.js';
import { freePorts } from '../support/ports.js';

const BIN = join(process.cwd(), '.tools/bin');
const tool = (n: string) => join(BIN, n);
let dir: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  for (const t of ['litewitness', 'witnessctl', 'witness-interop'])
    if (!existsSync(tool(t))) throw new Error(`${tool(t)} not found: run scripts/setup-tools.sh`);
  dir = mkdtempSync(join(tmpdir(), 'sigil-witness-interop-'));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `cmd` and resolves with its first stdout line. */
function firstLine(cmd: string, args: string[]): Promise<string> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${err}`)));
  });
}

function run(cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: 60_000,
    ...(input !== undefined ? { input } : {}),
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** Like {@link run}, without blocking the event loop (the witness under test runs in this process). */
function runAsync(cmd: string, args: string[]): Promise<{ status: number | null; out: string; err: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, out, err })));
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} never answered`);
}

describe('SIGIL checkpoints cosigned by litewitness (filippo.io/torchwood)', () => {
  it('cosigns, grows with consistency proofs, verifies in TS and Go, and catches a rollback', async () => {
    const seed = randomBytes(32).toString('hex');
    const wname = 'litewitness.test/w1';
    const sock = join(dir, 'agent.sock');
    const agent = JSON.parse(
      await firstLine(tool('witness-interop'), ['agent', '-socket', sock, '-seed', seed, '-name', wname]),
    ) as {
      fingerprint: string;
      vkey: string;
    };
    const origin = 'sigil.test/interop/audit';
    const log = await MerkleLog.open(join(dir, 'sigil', 'ledger'), { origin });
    const db = join(dir, 'litewitness.db');
    expect(run(tool('witnessctl'), ['add-log', '-db', db, '-origin', origin]).status).toBe(0);
    const addKey = run(tool('witnessctl'), [
      'add-key',
      '-db',
      db,
      '-origin',
      origin,
      '-key',
      log.checkpoints.verifierKey,
    ]);
    expect(addKey.status, addKey.err).toBe(0);
    const [port] = await freePorts(1);
    const lw = spawn(
      tool('litewitness'),
      [
        '-name',
        wname,
        '-db',
        db,
        '-ssh-agent',
        sock,
        '-key',
        agent.fingerprint,
        '-listen',
        `127.0.0.1:${port}`,
      ],
      {
        stdio: 'ignore',
      },
    );
    children.push(lw);
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(url);
    const stateFile = join(dir, 'sigil', 'witness', 'client.json');
    const client = new WitnessClient({
      log,
      witnesses: [{ name: wname, url, key: agent.vkey }],
      k: 1,
      stateFile,
    });
    const enc = new TextEncoder();
    for (let i = 0; i < 7; i++) await log.append(enc.encode(`entry ${i}`));
    const first = await client.witness(await log.checkpoints.make());
    expect(first.cosigners).toEqual([wname]);
    for (let i = 7; i < 300; i++) await log.append(enc.encode(`entry ${i}`));
    const second = await client.witness(await log.checkpoints.make());
    expect(second).toMatchObject({ size: 300, cosigners: [wname], policyMet: true });
    const verified = verifyCosigned(second.note, {
      logKey: log.checkpoints.verifierKey,
      witnesses: [agent.vkey],
      k: 1,
    });
    expect(verified.cosigners[0]?.name).toBe(wname);
    expect(Math.abs(verified.cosigners[0]!.time - Date.now() / 1000)).toBeLessThan(120);
    // Go (x/mod note + torchwood's CosignatureVerifier) accepts the same note.
    const go = run(
      tool('witness-interop'),
      [
        'verify-cosigned',
        '-log-vkey',
        log.checkpoints.verifierKey,
        '-witnesses',
        `${wname}:${seed}`,
        '-k',
        '1',
      ],
      second.note,
    );
    expect(go.status, go.err).toBe(0);
    expect(JSON.parse(go.out)).toEqual({ origin, size: 300, cosigners: [wname] });
    // A restored copy of the log at 7 entries (same key, no witness state): litewitness answers 409 300.
    await client.close();
    const oldDir = join(dir, 'restored');
    cpSync(join(dir, 'sigil', 'ledger', 'keys'), join(oldDir, 'ledger', 'keys'), { recursive: true });
    const restored = await MerkleLog.open(join(oldDir, 'ledger'), { origin });
    for (let i = 0; i < 7; i++) await restored.append(enc.encode(`entry ${i}`));
    const again = new WitnessClient({
      log: restored,
      witnesses: [{ name: wname, url, key: agent.vkey }],
      k: 1,
      stateFile: join(oldDir, 'witness', 'client.json'),
    });
    const err = await again.checkStartup().catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('WITNESS_ROLLBACK');
    expect((err as Error).message).toMatch(/witness cosigned size 300/);
    await restored.close();
    await log.close();
  }, 60_000);
});

describe('SIGIL as a witness for a Go log (golang.org/x/mod/sumdb)', () => {
  it('cosigns each checkpoint; torchwood verifies; a replay gets 409 and a fork 422', async () => {
    const keys = JSON.parse(run(tool('witness-interop'), ['keygen', '-name', 'go.test/log']).out) as {
      skey: string;
      vkey: string;
    };
    const seed = randomBytes(32);
    const signer = cosigner('sigil.test/witness', ed25519FromSeed(seed).privateKey);
    const refused: number[] = [];
    const service = new WitnessService({
      cosigner: signer,
      logs: [{ origin: 'go.test/log', keys: [keys.vkey] }],
      stateFile: join(dir, 'witness-go', 'witnessed.json'),
      onRefused: (_o, _c, status) => refused.push(status),
    });
    const handler = witnessHandler(service);
    const server = createServer((req, res) => {
      if (!handler(req, res)) res.writeHead(404).end();
    });
    const { url } = await listenHttp(server, '127.0.0.1:0');
    try {
      const r = await runAsync(tool('witness-interop'), [
        'log',
        '-skey',
        keys.skey,
        '-url',
        `${url}/witness`,
        '-witness-name',
        signer.name,
        '-witness-seed',
        seed.toString('hex'),
        '-sizes',
        '1,3,10,10,37,300',
      ]);
      expect(r.status, r.err).toBe(0);
      const lines = r.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.slice(0, 6).map((l) => [l.size, l.old, l.cosigned])).toEqual([
        [1, 0, true],
        [3, 1, true],
        [10, 3, true],
        [10, 10, true],
        [37, 10, true],
        [300, 37, true],
      ]);
      expect(lines[6]).toEqual({ replay_status: 409, replay_body: '300\n' });
      expect(lines[7]).toEqual({ fork_status: 422 });
      expect(service.sizes()).toEqual({ 'go.test/log': 300 });
      expect(refused).toEqual([409, 422]);
    } finally {
      await closeHttp(server, 100);
    }
  }, 60_000);
});
