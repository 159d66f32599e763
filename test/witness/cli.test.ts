/**
 * `sigil audit checkpoint --cosigned`, `verify-bundle --witness-policy` (c2sp.org/tlog-policy) and
 * `witness-reset` on a data dir whose checkpoints three loopback witnesses cosigned.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64decode, b64encode } from '../../src/ledger/index.js';
import { rollbackAccepted } from '../../src/witness/reset.js';
import { runCliSync } from '../support/sigil-cli.js';
import { connect, grow, type Sidecar, startMesh } from './helpers.js';

let root: string;
let mesh: Sidecar[];
let env: NodeJS.ProcessEnv;
let policyFile: string;
let cosignedNote: string;

function cli(...args: string[]) {
  const r = runCliSync(['--data', mesh[0]!.dir, 'audit', ...args], { env });
  return { status: r.code, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sigil-witness-cli-'));
  mesh = await startMesh(root, ['a', 'b', 'c']);
  const a = mesh[0]!;
  connect(a, mesh, 2);
  await grow(a.log, 12);
  cosignedNote = (await a.client!.witness(await a.log.checkpoints.make())).note;
  await a.client!.close();
  const witnesses = mesh.map((w) => ({ name: w.witnessName, url: w.url, key: w.witnessKey }));
  env = {
    ...process.env,
    SIGIL__AUDIT__ORIGIN: a.origin,
    SIGIL__AUDIT__WITNESSES: JSON.stringify(witnesses),
  };
  policyFile = join(root, 'policy.txt');
  writeFileSync(
    policyFile,
    [
      '# two of the three mesh witnesses',
      `log ${a.log.checkpoints.verifierKey}`,
      ...mesh.map((w) => `witness ${w.name} ${w.witnessKey} ${w.url}`),
      'group mesh 2 a b c',
      'quorum mesh',
      '',
    ].join('\n'),
  );
}, 60_000);
afterAll(async () => {
  for (const s of mesh) await s.close().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

describe('sigil audit witness commands', () => {
  it('checkpoint --cosigned prints the cosigned note with verified cosigners and the policy', () => {
    const r = cli('checkpoint', '--cosigned');
    expect(r.status, r.err).toBe(0);
    const j = JSON.parse(r.out) as {
      size: number;
      note: string;
      cosigners: Array<{ name: string }>;
      policy: unknown;
    };
    expect(j.size).toBe(12);
    expect(j.note).toBe(cosignedNote);
    expect(j.cosigners.map((c) => c.name)).toEqual(mesh.map((w) => w.witnessName));
    expect(j.policy).toEqual({ k: 2, n: 3, met: true });
  });

  it('prove-cosigned + verify-bundle --witness-policy checks the quorum; a forged cosignature or too few fail with their code', () => {
    const prove = cli('prove', '5', '--bundle', '--size', '12');
    expect(prove.status, prove.err).toBe(0);
    const logNote = prove.out.slice(prove.out.indexOf('\n\n') + 2);
    expect(cosignedNote.startsWith(logNote)).toBe(true);
    const cosigned = `${prove.out}${cosignedNote.slice(logNote.length)}`;
    const pc = cli('prove-cosigned', '5');
    expect(pc.status, pc.err).toBe(0);
    expect(pc.out).toBe(cosigned);
    const file = join(root, 'bundle.txt');
    const key = mesh[0]!.log.checkpoints.verifierKey;
    writeFileSync(file, cosigned);
    const ok = cli('verify-bundle', file, '--key', key, '--witness-policy', policyFile);
    expect(ok.status, ok.err).toBe(0);
    expect((JSON.parse(ok.out) as { cosigners: unknown[]; index: number }).cosigners).toHaveLength(3);
    writeFileSync(file, prove.out); // the log's signature alone
    const none = cli('verify-bundle', file, '--key', key, '--witness-policy', policyFile);
    expect(none.status).toBe(1);
    expect(none.err).toMatch(/^WITNESS_POLICY_UNMET: .*quorum "mesh"/);
    const lines = cosigned.trimEnd().split('\n');
    const last = lines.at(-1)!.split(' ');
    const raw = b64decode(last[2]!)!;
    raw[40] = (raw[40] as number) ^ 4;
    writeFileSync(file, `${[...lines.slice(0, -1), `${last[0]} ${last[1]} ${b64encode(raw)}`].join('\n')}\n`);
    const forged = cli('verify-bundle', file, '--key', key, '--witness-policy', policyFile);
    expect(forged.status).toBe(1);
    expect(forged.err).toMatch(/^WITNESS_COSIGNATURE_INVALID: cosignature by witness c\.mesh\/witness/);
  });

  it('collect --serve answers only with its token, lets the listed origin call it, and refuses bad flags', async () => {
    const sources = join(root, 'sources.json');
    const tokenFile = join(root, 'collector-token');
    writeFileSync(tokenFile, 'collector-cli-token-0123456789\n');
    writeFileSync(
      sources,
      JSON.stringify([
        {
          name: 'a',
          url: 'http://127.0.0.1:1',
          log_key: mesh[0]!.log.checkpoints.verifierKey,
          token_file: tokenFile,
        },
      ]),
    );
    const base = ['collect', '--sources', sources, '--witness-policy', policyFile];
    expect(cli(...base).err).toMatch(/^WITNESS_BAD_REQUEST: give exactly one of --task and --serve/);
    expect(cli(...base, '--serve', '127.0.0.1:0').err).toMatch(
      /^WITNESS_BAD_REQUEST: --serve needs --token-file/,
    );
    const p = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        '--data',
        mesh[0]!.dir,
        'audit',
        ...base,
        '--serve',
        '127.0.0.1:0',
        '--token-file',
        tokenFile,
        '--allow-origin',
        'http://dash.example',
      ],
      { env },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        p.stdout.on('data', (d) => {
          out += d;
          const m = /"collector":"([^"]+)"/.exec(out);
          if (m) resolve(m[1] as string);
        });
        p.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      expect((await fetch(`${url}/collect?task=T`)).status).toBe(401);
      const pre = await fetch(`${url}/collect`, {
        method: 'OPTIONS',
        headers: { origin: 'http://dash.example' },
      });
      expect(pre.headers.get('access-control-allow-origin')).toBe('http://dash.example');
      const other = await fetch(`${url}/collect`, {
        method: 'OPTIONS',
        headers: { origin: 'http://evil.example' },
      });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      // With the token: the one source is down, so the report says so (and trusts nothing from it).
      const r = await fetch(`${url}/collect?task=T`, {
        headers: { authorization: 'Bearer collector-cli-token-0123456789' },
      });
      expect(r.status).toBe(200);
      const body = (await r.json()) as {
        answers: unknown[];
        errors: Array<{ sidecar: string; code: string }>;
      };
      expect(body.answers).toEqual([]);
      expect(body.errors).toEqual([expect.objectContaining({ sidecar: 'a', code: 'WITNESS_UNAVAILABLE' })]);
    } finally {
      p.kill('SIGTERM');
    }
  }, 60_000);

  it('witness-reset needs --yes, then records the accepted rollback', () => {
    expect(cli('witness-reset', '--accept-rollback').err).toMatch(/^WITNESS_BAD_REQUEST: .*--yes/);
    const r = cli('witness-reset', '--accept-rollback', '--yes', '--reason', 'restored backup 2026-12-01');
    expect(r.status, r.err).toBe(0);
    expect(rollbackAccepted(join(mesh[0]!.dir, 'witness'), mesh[0]!.origin)?.reason).toBe(
      'restored backup 2026-12-01',
    );
  });
});
