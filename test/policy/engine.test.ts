/**
 * Hot reload: file (fs.watch + polling, atomic swap, broken bundle keeps the previous one and counts an error) and
 * HTTP bundle server (ETag / If-None-Match / 304 polling like OPA's bundle plugin). Real files, real HTTP server.
 */

import { renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../src/policy/index.js';
import { context, opaBuildSources, tempDir } from './support.js';

const allowAll = (rev: string) =>
  opaBuildSources({ 'p.rego': 'package envoy.authz\n\nallow := true\n' }, undefined, rev);
const denyAll = (rev: string) =>
  opaBuildSources({ 'p.rego': 'package envoy.authz\n\nallow := false\n' }, undefined, rev);

let ALLOW: Buffer;
let DENY: Buffer;
const tmp = tempDir('sigil-engine-');
beforeAll(() => {
  ALLOW = allowAll('allow-1');
  DENY = denyAll('deny-1');
});
afterAll(() => tmp.cleanup());

const engines: PolicyEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function errorsCount(registry: Registry): Promise<number> {
  const m = await registry.getSingleMetric('sigil_policy_load_errors_total')!.get();
  return m.values.reduce((a, v) => a + v.value, 0);
}

/** Atomic replace: write a sibling, rename over (what deploy tools do). */
/** A file-sourced engine that only polls (every 50 ms), tracked for cleanup, with its own metrics registry. */
async function startPolling(file: string): Promise<{ engine: PolicyEngine; registry: Registry }> {
  const registry = new Registry();
  const engine = await PolicyEngine.start({
    source: file,
    registry,
    pollIntervalMs: 50,
    watchFiles: false,
    evalTimeoutMs: 10_000,
  });
  engines.push(engine);
  return { engine, registry };
}

function replace(path: string, bytes: Buffer): void {
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
}

const ctx = context();

describe('file source', () => {
  it('swaps on change (watch), keeps the old bundle on a broken one, and counts the error', async () => {
    const registry = new Registry();
    const file = join(tmp.dir, 'watch.tar.gz');
    writeFileSync(file, ALLOW);
    const engine = await PolicyEngine.start({
      source: file,
      registry,
      pollIntervalMs: 60_000,
      evalTimeoutMs: 10_000,
    });
    engines.push(engine);
    expect(engine.revision).toBe('allow-1');
    expect(engine.decide(ctx)).toMatchObject({ allowed: true, revision: 'allow-1' });

    replace(file, DENY);
    await until(() => engine.revision === 'deny-1'); // fs.watch fired (polling is 60 s here)
    expect(engine.decide(ctx)).toMatchObject({ allowed: false, code: 'POLICY_DENIED', revision: 'deny-1' });

    replace(file, Buffer.from('garbage, not a bundle'));
    await until(() => engine.lastLoadError !== undefined);
    expect(engine.lastLoadError?.code).toBe('POLICY_BUNDLE_INVALID');
    expect(await errorsCount(registry)).toBe(1);
    expect(engine.revision).toBe('deny-1'); // previous bundle still in force
    expect(engine.decide(ctx)).toMatchObject({ allowed: false, code: 'POLICY_DENIED', revision: 'deny-1' });

    replace(file, ALLOW);
    await until(() => engine.revision === 'allow-1');
    expect(engine.lastLoadError).toBeUndefined();
    expect(engine.decide(ctx).allowed).toBe(true);
  });

  it('polling alone picks up changes (watch disabled)', async () => {
    const file = join(tmp.dir, 'poll.tar.gz');
    writeFileSync(file, ALLOW);
    const { engine } = await startPolling(file);
    replace(file, DENY);
    await until(() => engine.revision === 'deny-1');
    expect(engine.decide(ctx).allowed).toBe(false);
  });

  it('a missing or broken first bundle denies with POLICY_NOT_LOADED until a good one appears', async () => {
    const file = join(tmp.dir, 'late.tar.gz');
    const { engine } = await startPolling(file);
    expect(engine.revision).toBeUndefined();
    expect(engine.lastLoadError?.code).toBe('POLICY_BUNDLE_UNAVAILABLE');
    const v = engine.decide(ctx);
    expect(v).toMatchObject({ allowed: false, code: 'POLICY_NOT_LOADED', revision: 'none' });
    replace(file, ALLOW);
    await until(() => engine.revision === 'allow-1');
    expect(engine.decide(ctx).allowed).toBe(true);
  });

  it('a bundle needing a missing builtin is refused at reload with POLICY_BUILTIN_MISSING', async () => {
    const file = join(tmp.dir, 'builtin.tar.gz');
    writeFileSync(file, ALLOW);
    const { engine, registry } = await startPolling(file);
    replace(
      file,
      opaBuildSources({ 'p.rego': 'package envoy.authz\n\nallow if count(net.lookup_ip_addr("x")) > 0\n' }),
    );
    await until(() => engine.lastLoadError !== undefined);
    expect(engine.lastLoadError?.code).toBe('POLICY_BUILTIN_MISSING');
    expect(engine.lastLoadError?.message).toContain('net.lookup_ip_addr');
    expect(engine.revision).toBe('allow-1');
    const m = await registry.getSingleMetric('sigil_policy_load_errors_total')!.get();
    expect(m.values.find((v) => v.labels.code === 'POLICY_BUILTIN_MISSING')?.value).toBe(1);
  });
});

describe('HTTP bundle server with ETag polling', () => {
  let server: Server;
  let url: string;
  let body: Buffer = Buffer.alloc(0);
  let etag = '';
  let status = 200;
  const seen: { inm: string | undefined; status: number }[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const inm = req.headers['if-none-match'];
      if (status !== 200) {
        seen.push({ inm, status });
        res.writeHead(status).end();
      } else if (inm === etag) {
        seen.push({ inm, status: 304 });
        res.writeHead(304, { etag }).end();
      } else {
        seen.push({ inm, status: 200 });
        res
          .writeHead(200, { etag, 'content-type': 'application/gzip', 'content-length': body.length })
          .end(body);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bundles/authz.tar.gz`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('loads, revalidates with If-None-Match (304), swaps on a new ETag, keeps the old bundle on errors', async () => {
    const registry = new Registry();
    body = ALLOW;
    etag = '"v1"';
    const engine = await PolicyEngine.start({
      source: url,
      allowLoopbackHttp: true,
      registry,
      pollIntervalMs: 40,
      evalTimeoutMs: 10_000,
    });
    engines.push(engine);
    expect(engine.revision).toBe('allow-1');
    await until(() => seen.some((s) => s.status === 304));
    expect(seen[0]).toEqual({ inm: undefined, status: 200 });
    expect(seen.filter((s) => s.status === 304).every((s) => s.inm === '"v1"')).toBe(true);

    body = DENY;
    etag = '"v2"';
    await until(() => engine.revision === 'deny-1');
    expect(engine.decide(ctx).allowed).toBe(false);

    status = 503;
    const before = await errorsCount(registry);
    await until(() => engine.lastLoadError?.code === 'POLICY_BUNDLE_UNAVAILABLE');
    expect(await errorsCount(registry)).toBeGreaterThan(before);
    expect(engine.revision).toBe('deny-1');

    status = 200;
    body = Buffer.from('not a bundle');
    etag = '"v3"';
    await until(() => engine.lastLoadError?.code === 'POLICY_BUNDLE_INVALID');
    expect(engine.revision).toBe('deny-1');
    expect(engine.decide(ctx)).toMatchObject({ allowed: false, code: 'POLICY_DENIED', revision: 'deny-1' });
  });

  it('refuses a bundle larger than the cap', async () => {
    const registry = new Registry();
    status = 200;
    body = ALLOW;
    etag = '"big"';
    const engine = await PolicyEngine.start({
      source: url,
      allowLoopbackHttp: true,
      registry,
      pollIntervalMs: 60_000,
      maxBundleBytes: 1000,
    });
    engines.push(engine);
    expect(engine.revision).toBeUndefined();
    expect(engine.lastLoadError?.code).toBe('POLICY_BUNDLE_INVALID');
    expect(engine.lastLoadError?.message).toMatch(/cap/);
  });
});
