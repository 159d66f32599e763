/**
 * `sigil serve` refuses bad flags and settings with a stable code before it binds anything, and applies
 * `sigil.runtime` to the process it runs in; a generated admin token goes to a 0600 file, never to a log.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuBudget } from '../../src/lib/cpu-budget.js';
import { freePorts } from '../support/ports.js';
import { runSigilCli, startSigilProcess } from '../support/sigil-process.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-serve-cli-'));
const file = join(dir, 'sigil.yaml');
writeFileSync(file, `sigil:\n  data_dir: ${dir}\n`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sigil serve flags', () => {
  it.each([
    [['--listen', 'nope'], 'config sigil.authz.listen'],
    [['--admin', 'x:y'], 'config sigil.admin.listen'],
    [['--drain-ms', '-1'], '--drain-ms'],
  ])(
    '%j → exit 1 CONFIG_INVALID',
    async (flags, what) => {
      const r = await runSigilCli(file, ['serve', ...flags]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('CONFIG_INVALID');
      expect(r.stderr).toContain(what);
    },
    60_000,
  );

  it.each([-1, 1001, 2.5])(
    'sigil.runtime.gc_heap_growing_percent: %j → exit 1 CONFIG_INVALID naming the key',
    async (v) => {
      const bad = join(dir, `runtime-${v}.yaml`);
      writeFileSync(bad, `sigil:\n  data_dir: ${dir}\n  runtime:\n    gc_heap_growing_percent: ${v}\n`);
      const r = await runSigilCli(bad, ['serve']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('CONFIG_INVALID');
      expect(r.stderr).toContain('sigil.runtime.gc_heap_growing_percent');
    },
    60_000,
  );
});

describe('sigil serve trust and policy sources', () => {
  it.each([
    [
      'validator:\n    trust_bundle: "http://127.0.0.1:9180/.well-known/jwks.json"',
      'sigil.validator.trust_bundle',
    ],
    [
      'validator:\n    trust_bundles:\n      - source: "http://10.0.0.5/jwks.json"\n        issuers: [spiffe://a.mesh/sigil/issuer]\n        trust_domains: [a.mesh]\n        allow_loopback_http: true',
      'sigil.validator.trust_bundles.0.source',
    ],
    [
      'validator:\n    trust_bundles:\n      - source: /etc/a.json\n        issuers: []\n        trust_domains: [a.mesh]',
      'sigil.validator.trust_bundles.0.issuers',
    ],
    ['policy:\n    bundle: "http://127.0.0.1:8181/b.tar.gz"', 'sigil.policy.bundle'],
  ])(
    '%s → exit 1 CONFIG_INVALID naming the key',
    async (section, key) => {
      const bad = join(dir, `source-${key}.yaml`);
      writeFileSync(bad, `sigil:\n  data_dir: ${dir}\n  ${section}\n`);
      const r = await runSigilCli(bad, ['serve']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('CONFIG_INVALID');
      expect(r.stderr).toContain(`config ${key}:`);
    },
    60_000,
  );

  it('the deprecated string trust_bundle starts, with a warning naming what it is narrowed to', async () => {
    const bundle = join(dir, 'legacy.jwks.json');
    writeFileSync(bundle, JSON.stringify({ keys: [] }));
    const p = await startSigilProcess({ validator: { trust_bundle: bundle } });
    try {
      const line = p
        .output()
        .split('\n')
        .find((l) => l.includes('sigil.validator.trust_bundle is deprecated'));
      expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 40 });
      expect(line).toContain('issuer spiffe://sigil.mesh/sigil/issuer and trust domain sigil.mesh');
    } finally {
      await p.dispose();
    }
  }, 60_000);
});

describe('sigil serve on a busy port', () => {
  it.each([
    ['authz', 'listen'],
    ['admin', 'listen'],
    ['issuer', 'listen_http'],
    ['issuer', 'listen_grpc'],
  ])(
    'sigil.%s.%s in use → exit 1 CONFIG_LISTEN_FAILED naming the key and address, no stack',
    async (section, key) => {
      // Occupy the port with a plain TCP server, as another process would.
      const busy = createServer();
      await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
      const port = (busy.address() as { port: number }).port;
      try {
        const [a, b, c, d] = await freePorts(4);
        const listen: Record<string, Record<string, string>> = {
          authz: { listen: `127.0.0.1:${a}` },
          admin: { listen: `127.0.0.1:${b}` },
          issuer: { listen_http: `127.0.0.1:${c}`, listen_grpc: `127.0.0.1:${d}` },
        };
        listen[section]![key] = `127.0.0.1:${port}`;
        const cfg = join(dir, `busy-${section}-${key}.yaml`);
        const yaml = Object.entries(listen)
          .map(
            ([s, kv]) =>
              `  ${s}:\n${Object.entries(kv)
                .map(([k, v]) => `    ${k}: "${v}"\n`)
                .join('')}`,
          )
          .join('');
        writeFileSync(cfg, `sigil:\n  data_dir: ${join(dir, `busy-${section}-${key}`)}\n${yaml}`);
        const r = await runSigilCli(cfg, ['serve']);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
          `CONFIG_LISTEN_FAILED: config sigil.${section}.${key}: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`,
        );
        expect(r.stderr).not.toMatch(/^\s+at /m);
      } finally {
        busy.close();
      }
    },
    60_000,
  );
});

describe('sigil serve runtime tuning', () => {
  const tunedLine = async (
    runtime?: Record<string, unknown>,
    env?: NodeJS.ProcessEnv,
    cpus?: string,
  ): Promise<string> => {
    const p = await startSigilProcess(runtime ? { runtime } : {}, {
      ...(env ? { env } : {}),
      ...(cpus ? { cpus } : {}),
    });
    try {
      // Logged right after "sigil ready".
      for (let i = 0; i < 100 && !p.output().includes('"msg":"runtime tuned"'); i++)
        await new Promise((r) => setTimeout(r, 50));
      const line =
        p
          .output()
          .split('\n')
          .find((l) => l.includes('"msg":"runtime tuned"')) ?? '';
      // Heap flags are applied by re-executing in place: the same process the caller started.
      expect(JSON.parse(line).pid).toBe(p.child.pid);
      // One full collection of start-up's garbage ran before the line (src/serve/tune-runtime.ts).
      expect(JSON.parse(line).startup_gc_ms).toBeGreaterThan(0);
      return line;
    } finally {
      await p.dispose();
    }
  };
  // V8's collector threads fixed, so the flag lists below do not depend on this machine's CPUs.
  const noHeapSizes = { semi_space_mb: 0, gc_threads: 'parallel' };

  it('sets V8’s old-generation growing factor: 50 % by default, or as configured', async () => {
    expect(JSON.parse(await tunedLine(noHeapSizes)).v8_flags).toEqual([
      '--heap-growing-percent=50',
      '--no-allocation-site-pretenuring',
    ]);
    expect(JSON.parse(await tunedLine({ ...noHeapSizes, gc_heap_growing_percent: 150 })).v8_flags).toEqual([
      '--heap-growing-percent=150',
      '--no-allocation-site-pretenuring',
    ]);
  }, 120_000);

  it('leaves the growing factor to V8 at 0, and turns allocation-site pretenuring off unless gc_pretenuring', async () => {
    expect(JSON.parse(await tunedLine({ ...noHeapSizes, gc_heap_growing_percent: 0 })).v8_flags).toEqual([
      '--no-allocation-site-pretenuring',
    ]);
    expect(
      JSON.parse(await tunedLine({ ...noHeapSizes, gc_heap_growing_percent: 0, gc_pretenuring: true }))
        .v8_flags,
    ).toEqual([]);
  }, 120_000);

  it.skipIf(process.execve === undefined)(
    're-executes itself with the heap sizes of sigil.runtime (default semi-space 16 MiB), in the same process',
    async () => {
      const byDefault = JSON.parse(await tunedLine());
      expect(byDefault.v8_flags).toEqual([
        '--heap-growing-percent=50',
        '--no-allocation-site-pretenuring',
        '--max-semi-space-size=16',
        // gc_threads: auto — one collector thread when the process has one CPU to use.
        ...(cpuBudget() <= 1 ? ['--single-threaded-gc'] : []),
      ]);
      const small = JSON.parse(
        await tunedLine({ semi_space_mb: 4, max_old_space_mb: 96, gc_threads: 'parallel' }),
      );
      expect(small.v8_flags).toEqual([
        '--heap-growing-percent=50',
        '--no-allocation-site-pretenuring',
        '--max-semi-space-size=4',
        '--max-old-space-size=96',
      ]);
      // V8's heap limit is the old generation's ceiling plus the young generation's: it moved with the flags.
      expect(small.heap_size_limit_mib).toBeGreaterThanOrEqual(96);
      expect(small.heap_size_limit_mib).toBeLessThan(96 + 3 * 4 + 8);
      const v8Default = JSON.parse(await tunedLine({ semi_space_mb: 0 }));
      expect(v8Default.heap_size_limit_mib).toBeGreaterThan(small.heap_size_limit_mib + 100);
    },
    120_000,
  );

  it.skipIf(process.execve === undefined)(
    'runs V8 with one collector thread when sigil.runtime.gc_threads is single, in the same process',
    async () => {
      const line = JSON.parse(await tunedLine({ semi_space_mb: 0, gc_threads: 'single' }));
      // Listed only when it is on the process's command line: the re-execution added it.
      expect(line.v8_flags).toEqual([
        '--heap-growing-percent=50',
        '--no-allocation-site-pretenuring',
        '--single-threaded-gc',
      ]);
      // auto: one collector thread when pinned to one CPU, V8's helpers when told to keep them.
      const pinned = JSON.parse(await tunedLine({ semi_space_mb: 0 }, undefined, '0'));
      expect(pinned.v8_flags).toContain('--single-threaded-gc');
      const kept = JSON.parse(await tunedLine({ semi_space_mb: 0, gc_threads: 'parallel' }, undefined, '0'));
      expect(kept.v8_flags).not.toContain('--single-threaded-gc');
    },
    120_000,
  );

  it.skipIf(process.execve === undefined)(
    'leaves a heap size the operator set in NODE_OPTIONS alone',
    async () => {
      const line = JSON.parse(
        await tunedLine(
          { semi_space_mb: 4, max_old_space_mb: 96, gc_threads: 'parallel' },
          { NODE_OPTIONS: '--max-old-space-size=200' },
        ),
      );
      expect(line.v8_flags).toEqual([
        '--heap-growing-percent=50',
        '--no-allocation-site-pretenuring',
        '--max-semi-space-size=4',
      ]);
      expect(line.heap_size_limit_mib).toBeGreaterThanOrEqual(200);
      expect(line.heap_size_limit_mib).toBeLessThan(200 + 3 * 4 + 8);
    },
    120_000,
  );

  it.each([
    ['semi_space_mb', -1],
    ['semi_space_mb', 257],
    ['max_old_space_mb', 32],
  ])(
    'sigil.runtime.%s: %j → exit 1 CONFIG_INVALID naming the key',
    async (key, v) => {
      const bad = join(dir, `runtime-${key}-${v}.yaml`);
      writeFileSync(bad, `sigil:\n  data_dir: ${dir}\n  runtime:\n    ${key}: ${v}\n`);
      const r = await runSigilCli(bad, ['serve']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('CONFIG_INVALID');
      expect(r.stderr).toContain(`sigil.runtime.${key}`);
    },
    60_000,
  );
});

describe('sigil serve on one CPU', () => {
  const readyLine = async (
    sigil: Record<string, unknown>,
    cpus?: string,
  ): Promise<Record<string, unknown>> => {
    const p = await startSigilProcess(sigil, cpus ? { cpus } : {});
    try {
      const line = p
        .output()
        .split('\n')
        .find((l) => l.includes('"msg":"sigil ready"'));
      return JSON.parse(line ?? '{}') as Record<string, unknown>;
    } finally {
      await p.dispose();
    }
  };

  it('hashes the ledger inline when pinned to one CPU (audit.hash_thread auto), on the thread when told to', async () => {
    expect((await readyLine({}, '0')).ledger_hash_thread).toBe(false);
    expect((await readyLine({ audit: { hash_thread: 'on' } }, '0')).ledger_hash_thread).toBe(true);
    expect((await readyLine({})).ledger_hash_thread).toBe(availableParallelism() > 1);
  }, 120_000);

  it('names the ledger durability in the ready line: journal by default, sync when configured', async () => {
    expect((await readyLine({}, '0')).ledger_durability).toBe('journal');
    expect((await readyLine({ audit: { durability: 'sync' } }, '0')).ledger_durability).toBe('sync');
  }, 120_000);

  it('names the ext_authz transport in the ready line: h2c by default, grpc-js for the deprecated h2', async () => {
    expect((await readyLine({}, '0')).authz_transport).toBe('h2c');
    expect((await readyLine({ authz: { transport: 'h2' } }, '0')).authz_transport).toBe('grpc-js');
  }, 120_000);
});

describe('sigil serve without sigil.admin.token', () => {
  it('writes the one-off admin token to <data_dir>/admin-token (0600) and never logs it', async () => {
    const p = await startSigilProcess();
    try {
      const file = join(p.dataDir, 'admin-token');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = readFileSync(file, 'utf8').trim();
      expect(token.length).toBeGreaterThanOrEqual(32);
      const line = p
        .output()
        .split('\n')
        .find((l) => l.includes('sigil.admin.token is not set'));
      expect(JSON.parse(line ?? '{}')).toMatchObject({ token_file: file, level: 40 });
      const ok = await fetch(`${p.adminUrl}/api/status`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      await p.stop();
      expect(p.output()).not.toContain(token);
    } finally {
      await p.dispose();
    }
  }, 60_000);
});
